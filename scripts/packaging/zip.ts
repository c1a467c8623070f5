import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { ZipFile } from "yazl";

/**
 * The deployment package's zip, written by yazl (https://github.com/thejoshwolfe/yazl): it streams
 * the archive to the file as entries are added, deflates, marks names UTF-8, turns to ZIP64 by
 * itself when an archive outgrows 4 GiB or 65,535 entries, and takes each entry's time and mode
 * from us, so a fixed time gives the same bytes for the same inputs. Entries go into the archive in
 * the order they are added: the caller adds them in a stable (sorted) order.
 */

export interface ZipEntry {
  /** Path inside the archive, with forward slashes, no leading slash. */
  name: string;
  data: Buffer;
}

export interface ZipWriter {
  /** Queues the entry; throws at once on a name that is not a relative forward-slash path. */
  add(entry: ZipEntry): void;
  /** Finishes the archive; resolves to its size in bytes. */
  close(): Promise<number>;
  /** Closes the file without finishing it (after a failed add). */
  abort(): Promise<void>;
}

/** Options for every entry (a function: the date's local fields are read in the time zone of the moment). */
const entryOptions = () => ({
  // 1980-01-02 00:00, built from local fields: yazl writes the MS-DOS time from the local fields,
  // so this is the same on every machine whatever its time zone. A day after the format's first
  // day (1980-01-01), which yazl clamps to: no zone's offset takes this date below it.
  mtime: new Date(1980, 0, 2),
  // Only the MS-DOS time: the extended timestamp yazl would add holds UTC seconds, which do
  // depend on the time zone a local-fields date was built in.
  forceDosTimestamp: true,
  /** A regular file, rw-r--r--. */
  mode: 0o100644,
  compress: true,
});

export async function createZip(path: string): Promise<ZipWriter> {
  const file = await open(path, "w");
  const out = file.createWriteStream();
  const zip = new ZipFile();
  // yazl reports its own failures on the ZipFile, not on its output stream: end the pipeline with them.
  zip.on("error", (error: Error) => out.destroy(error));
  const written = pipeline(zip.outputStream, out);
  written.catch(() => {}); // awaited by close or abort; never an unhandled rejection meanwhile
  return {
    add({ name, data }) {
      // yazl refuses absolute and `..` names but turns a backslash into a slash: refuse that too.
      if (name.startsWith("/") || name.includes("\\") || name.split("/").includes(".."))
        throw new Error(`zip entry name ${JSON.stringify(name)} is not a relative forward-slash path`);
      zip.addBuffer(data, name, entryOptions());
    },
    async close() {
      zip.end();
      await written;
      return out.bytesWritten;
    },
    async abort() {
      out.destroy();
      await written.catch(() => {});
    },
  };
}
