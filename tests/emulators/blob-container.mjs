// Deletes a blob container, or tells whether it exists, with the official Azure Storage SDK, as
// an operator's mistake or a storage account restored empty would leave it:
// `node blob-container.mjs <connectionString> <container> delete|exists`. Prints true/false.
import { BlobServiceClient } from "@azure/storage-blob";

const [connection, name, action] = process.argv.slice(2);
const container = BlobServiceClient.fromConnectionString(connection).getContainerClient(name);
if (action === "delete") {
  console.log(JSON.stringify((await container.deleteIfExists()).succeeded));
} else {
  console.log(JSON.stringify(await container.exists()));
}
