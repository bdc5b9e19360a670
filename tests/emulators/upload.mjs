// Uploads a file through a signed upload URL with the official Azure Storage SDK, as a browser
// or Node client of the portal would: `node upload.mjs <uploadUrl> <file> <contentType>`.
// Prints the service's answer (status and ETag, or status and error code when the service
// refuses the upload) as JSON.
import { readFileSync } from "node:fs";
import { BlockBlobClient, RestError } from "@azure/storage-blob";

const [url, file, contentType] = process.argv.slice(2);
const client = new BlockBlobClient(url);
try {
  const response = await client.uploadData(readFileSync(file), {
    blobHTTPHeaders: { blobContentType: contentType },
  });
  console.log(JSON.stringify({ status: response._response.status, etag: response.etag }));
} catch (e) {
  if (!(e instanceof RestError) || !e.statusCode) throw e;
  console.log(JSON.stringify({ status: e.statusCode, code: e.code }));
}
