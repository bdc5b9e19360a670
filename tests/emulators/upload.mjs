// Uploads a file through a signed upload URL with the official Azure Storage SDK, as a browser
// or Node client of the portal would: `node upload.mjs <uploadUrl> <file> <contentType>`.
// Prints the service's answer (status and ETag) as JSON.
import { readFileSync } from "node:fs";
import { BlockBlobClient } from "@azure/storage-blob";

const [url, file, contentType] = process.argv.slice(2);
const client = new BlockBlobClient(url);
const response = await client.uploadData(readFileSync(file), {
  blobHTTPHeaders: { blobContentType: contentType },
});
console.log(JSON.stringify({ status: response._response.status, etag: response.etag }));
