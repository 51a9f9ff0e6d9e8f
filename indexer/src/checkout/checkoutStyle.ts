/** The checkout's style, served from the API itself (`/checkout/assets/…`): no CDN, no web font, nothing from another origin. */
export const CHECKOUT_CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;background:#f5f5f5}
main{max-width:28rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}
h1{font-size:1.25rem;margin:.5rem 0}
.total{font-size:2rem;font-weight:700;margin:.25rem 0}
.currency{font-size:1rem;color:#555}
#status{padding:.75rem;border-radius:.5rem;background:#eef4ff;font-weight:600}
#status[data-final=paid]{background:#e7f7ec}
#status[data-final=expired],#status[data-final=failed]{background:#fdecec}
fieldset{border:0;padding:0;margin:1rem 0;display:flex;gap:.5rem;flex-wrap:wrap}
legend{font-weight:600;margin-bottom:.5rem}
fieldset label{border:1px solid #ccc;border-radius:.5rem;padding:.5rem .75rem;cursor:pointer}
fieldset label:focus-within{outline:3px solid #1a56db}
.qr{display:block;max-width:16rem;margin:0 auto}
.qr svg{width:100%;height:auto}
.field{display:flex;align-items:center;gap:.5rem;margin:.5rem 0;flex-wrap:wrap}
.label{min-width:6rem;color:#555}
code{word-break:break-all;flex:1}
button{font:inherit;padding:.4rem .8rem;border-radius:.4rem;border:1px solid #1a56db;background:#fff;color:#1a56db;cursor:pointer}
button:focus,a:focus{outline:3px solid #1a56db;outline-offset:2px}
button:disabled{opacity:.6;cursor:wait}
#wallet{margin:1rem 0;padding-top:1rem;border-top:1px solid #ddd}
#pay-wallet{width:100%;padding:.75rem;background:#1a56db;color:#fff;font-weight:600}
#wallet-status[data-state=failed]{color:#a40000;font-weight:600}
#wallet-status[data-state=cancelled]{color:#555}
.logo{vertical-align:-4px}
.send-only{padding:.5rem .75rem;border-left:4px solid #f3ba2f;background:#fffbea;font-weight:600}
.timer-note{color:#555;font-size:.875rem}
#countdown{margin-bottom:0}
h2{font-size:1rem;margin:1rem 0 .25rem}
.transfers{list-style:none;padding:0;margin:0}
.transfers li{padding:.4rem 0;border-bottom:1px solid #eee;display:flex;gap:.5rem;flex-wrap:wrap;align-items:baseline}
.sent{font-weight:600}
.note{padding:.75rem;border-radius:.5rem;background:#f5f5f5}
.note,.transfers{overflow-wrap:anywhere}
a.button{display:block;text-align:center;padding:.75rem;border-radius:.4rem;background:#1a56db;color:#fff;font-weight:600;text-decoration:none}
.returning{color:#555;font-size:.875rem;text-align:center}
`;
