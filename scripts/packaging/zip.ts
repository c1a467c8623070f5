import { open } from "node:fs/promises";
import { crc32, deflateRawSync } from "node:zlib";

/**
 * A zip archive writer (PKWARE APPNOTE 6.3: local headers, deflated data, central directory, end
 * record), enough for a deployment package: files only, deflate, UTF-8 names, no ZIP64. Every entry
 * carries the same fixed time, so the same inputs give the same bytes.
 */

export interface ZipEntry {
  /** Path inside the archive, with forward slashes, no leading slash. */
  name: string;
  data: Buffer;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
/** 2.0: deflate. */
const VERSION_NEEDED = 20;
/** Made by Unix (3), so unzip applies the mode in the external attributes. */
const VERSION_MADE_BY = (3 << 8) | VERSION_NEEDED;
/** Bit 11: the name is UTF-8. */
const FLAGS_UTF8 = 1 << 11;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
/** A regular file, rw-r--r--. */
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0;
/** MS-DOS date and time of every entry: 1980-01-01 00:00. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** Without ZIP64, counts are 16-bit and sizes and offsets 32-bit. */
const MAX_ENTRIES = 0xffff;
const MAX_OFFSET = 0xffffffff;

export class ZipLimitError extends Error {}

export interface ZipWriter {
  add(entry: ZipEntry): Promise<void>;
  /** Writes the central directory; resolves to the archive's size in bytes. */
  close(): Promise<number>;
  /** Closes the file without finishing it (after a failed add). */
  abort(): Promise<void>;
}

export async function createZip(path: string): Promise<ZipWriter> {
  const file = await open(path, "w");
  const central: Buffer[] = [];
  let offset = 0;
  let count = 0;
  const write = async (buffer: Buffer): Promise<void> => {
    await file.write(buffer);
    offset += buffer.length;
  };
  return {
    async add({ name, data }) {
      if (name.startsWith("/") || name.includes("\\") || name.split("/").includes(".."))
        throw new Error(`zip entry name ${JSON.stringify(name)} is not a relative forward-slash path`);
      if (++count > MAX_ENTRIES) throw new ZipLimitError(`more than ${MAX_ENTRIES} files: this writer has no ZIP64`);
      const deflated = deflateRawSync(data);
      // Small or incompressible files are stored: deflate would make them larger.
      const [method, body] = deflated.length < data.length ? [METHOD_DEFLATED, deflated] : [METHOD_STORED, data];
      const nameBytes = Buffer.from(name, "utf8");
      const crc = crc32(data);
      if (offset + 30 + nameBytes.length + body.length > MAX_OFFSET)
        throw new ZipLimitError("the archive would pass 4 GiB: this writer has no ZIP64");

      const local = Buffer.alloc(30);
      local.writeUInt32LE(LOCAL_HEADER, 0);
      local.writeUInt16LE(VERSION_NEEDED, 4);
      local.writeUInt16LE(FLAGS_UTF8, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt16LE(DOS_TIME, 10);
      local.writeUInt16LE(DOS_DATE, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(nameBytes.length, 26);
      local.writeUInt16LE(0, 28);

      const header = Buffer.alloc(46);
      header.writeUInt32LE(CENTRAL_HEADER, 0);
      header.writeUInt16LE(VERSION_MADE_BY, 4);
      header.writeUInt16LE(VERSION_NEEDED, 6);
      header.writeUInt16LE(FLAGS_UTF8, 8);
      header.writeUInt16LE(method, 10);
      header.writeUInt16LE(DOS_TIME, 12);
      header.writeUInt16LE(DOS_DATE, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(body.length, 20);
      header.writeUInt32LE(data.length, 24);
      header.writeUInt16LE(nameBytes.length, 28);
      // extra length, comment length, disk number, internal attributes: all 0
      header.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
      header.writeUInt32LE(offset, 42);
      central.push(header, nameBytes);

      await write(Buffer.concat([local, nameBytes, body]));
    },
    async close() {
      try {
        const directory = Buffer.concat(central);
        const directoryOffset = offset;
        await write(directory);
        const end = Buffer.alloc(22);
        end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
        end.writeUInt16LE(count, 8);
        end.writeUInt16LE(count, 10);
        end.writeUInt32LE(directory.length, 12);
        end.writeUInt32LE(directoryOffset, 16);
        await write(end);
        return offset;
      } finally {
        await file.close();
      }
    },
    async abort() {
      await file.close();
    },
  };
}
