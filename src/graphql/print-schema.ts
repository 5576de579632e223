// `npm run schema`: write schema/schema.graphql from the code.
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { printedSchema } from "./index.js";

const target = fileURLToPath(new URL("../../schema/schema.graphql", import.meta.url));
fs.writeFileSync(target, printedSchema());
console.log(`wrote ${target}`);
