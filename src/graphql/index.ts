// The schema: every module registers its types on the builder.
import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder.js";
import "./common.schema.js";
import "./app.schema.js";
import "./auth.schema.js";
import "./conversation.schema.js";
import "./workflow.schema.js";
import "./generation.schema.js";
import "./node.schema.js";
import "./uploads.js";
import "./speech.schema.js";

export const schema = builder.toSchema();

export const printedSchema = () => printSchema(lexicographicSortSchema(schema)) + "\n";
