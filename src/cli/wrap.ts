/**
 * Text for a terminal `width` columns wide: each paragraph broken at spaces, continuation lines
 * indented by `indent` spaces (the first line carries its own prefix). Without a width (output to a
 * file or a pipe), lines are left whole, so `grep` and CI logs see one finding per line.
 */
export function wrapText(
  text: string,
  width: number | undefined,
  indent: number,
  firstPrefix = " ".repeat(indent),
): string {
  if (width === undefined || width <= indent + 20) return `${firstPrefix}${text}`;
  const room = width - indent;
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/ +/)) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= room) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
    // A word longer than the room (a URL) is cut rather than left to the terminal's own wrapping.
    while (line.length > room) {
      lines.push(line.slice(0, room));
      line = line.slice(room);
    }
  }
  if (line !== "") lines.push(line);
  return lines.map((l, i) => (i === 0 ? firstPrefix : " ".repeat(indent)) + l).join("\n");
}
