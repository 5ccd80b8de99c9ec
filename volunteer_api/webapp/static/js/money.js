// Tenge as the contract writes it: a string with exactly two decimals, exact to the tiyn (no float ever).
const MAX_TIYN = 1_000_000_000_000n * 100n; // the contract's ceiling: 1 000 000 000 000 KZT

// What the volunteer typed ("1 250 000,5", "250000.50") → "1250000.50", or null when it is no valid amount.
export function parseAmount(typed) {
  const compact = String(typed || "").trim().replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
  const match = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(compact);
  if (!match) return null;
  const whole = match[1].replace(/^0+(?=\d)/, "");
  const cents = (match[2] || "").padEnd(2, "0");
  const tiyn = BigInt(whole) * 100n + BigInt(cents);
  return tiyn > 0n && tiyn <= MAX_TIYN ? `${whole}.${cents}` : null;
}

// "1250000.50" → "1 250 000,50 ₸" (Russian and Kazakh) or "1,250,000.50 KZT" (English), from the string itself.
export function formatAmount(amount, language) {
  const [whole, cents = "00"] = String(amount).split(".");
  const english = language === "en";
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, english ? "," : "\u00a0");
  return english ? `${grouped}.${cents} KZT` : `${grouped},${cents}\u00a0₸`;
}
