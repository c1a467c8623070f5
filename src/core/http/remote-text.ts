/**
 * Text from a gateway, a backend or Entra is data, not terminal control: it reaches the terminal,
 * JUnit XML and App Insights. C0 and C1 control characters (an ESC that clears the screen, a NUL
 * that a strict XML parser refuses) and the Unicode bidirectional overrides (text that reads
 * differently than it is) are shown escaped, as `\x1b` or `\u202e`; tabs and line breaks become
 * spaces. Applied where remote text enters the probe, so every output is safe without its own rule.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function escapeRemoteText(text: string): string {
  return text.replace(/[\t\r\n]/g, " ").replace(UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
