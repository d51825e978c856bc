/**
 * QR rendering with the `qrcode` npm package (well kept, pure JavaScript, no canvas needed for
 * SVG output), so a test device can scan the deep link off a dashboard.
 *
 * The package ships no types, and `@types/qrcode` pulls in a `@types/node` that clashes with
 * Deno's own node types, so the one function used here is typed locally.
 *
 * @module
 */
import qrcode from "qrcode";

interface QrCodeModule {
  toString(
    text: string,
    options: { type: "svg"; errorCorrectionLevel: "L" | "M" | "Q" | "H"; margin: number },
  ): Promise<string>;
}

const QRCode = qrcode as unknown as QrCodeModule;

/** Renders `text` as a standalone SVG QR code (error correction M, 2-module quiet zone). */
export async function renderQrSvg(text: string): Promise<string> {
  return await QRCode.toString(text, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}
