// The local-disk adapter (the zero-config default) under the same contract as S3's.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe } from "vitest";
import { LocalDiskStorage } from "../../src/providers/storage/local-disk.js";
import { fileStorageContract } from "../support/storage-contract.js";

describe("local disk file storage", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-storage-"));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  fileStorageContract(() => new LocalDiskStorage(root));
});
