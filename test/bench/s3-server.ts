// s3rver (test/support/s3-server.ts) in its own process for `npm run bench`: forked with tsx, it
// sends its S3 configuration over IPC and runs until the parent goes.
import { startS3Server } from "../support/s3-server.js";

const s3 = await startS3Server({ bucket: "appgraph-bench" });
process.send?.({ type: "ready", config: s3.config });
process.on("disconnect", () => void s3.close().finally(() => process.exit(0)));
