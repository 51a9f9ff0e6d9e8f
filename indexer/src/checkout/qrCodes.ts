import QRCode from "qrcode";

/** Enough for every checkout open at once on one process (each payment shows three URIs), at ~3.5 kB each. */
const CACHE_ENTRIES = 20_000;
const cache = new Map<string, Promise<string>>();

/**
 * The QR code of a payment URI as an SVG. Drawing one costs ~0.85 ms, three quarters of a page view
 * (docs/checkout-benchmark.md), and a page is viewed again on every reload with the same URIs: they are kept, the
 * least recently used dropped first.
 */
export function qrSvg(uri: string): Promise<string> {
  const hit = cache.get(uri);
  if (hit) {
    cache.delete(uri);
    cache.set(uri, hit);
    return hit;
  }
  const drawn = QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
  cache.set(uri, drawn);
  drawn.catch(() => cache.delete(uri));
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return drawn;
}
