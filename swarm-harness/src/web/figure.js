// The figure rule's twin for the live page (src/figure.rs is the rule, src/figure/cases.txt
// the table both are held to): three significant digits, never finer than a thousandth, so
// the page shows a column as the summary and the HTML report do. Whole numbers are worked in
// exact steps (a remainder, then a division that leaves none), as the Rust rule does in u64.
var swarmFigure = (function () {
  'use strict';
  var MAX = 18446744073709551615; // u64::MAX, where the Rust rule saturates

  // A value counted in thousandths of its unit, shown in that unit: 430 -> '0.430'.
  function thousandths(value) {
    if (typeof value !== 'number' || !isFinite(value)) { return '-'; }
    var n = Math.min(Math.round(Math.abs(value)), MAX);
    if (n === 0) { return '0'; }
    var scale = 1, exponent = 0;
    while ((n - n % scale) / scale >= 1000) { scale *= 10; exponent += 1; }
    var rest = n % scale;
    var digits = (n - rest) / scale + (scale > 1 && rest >= scale / 2 ? 1 : 0);
    // 999.5 rounds up to 1000: one digit more than three, so the unit of rounding moves up.
    if (digits === 1000) { digits = 100; exponent += 1; }
    return (value < 0 ? '-' : '') + place(digits, exponent - 3);
  }

  // digits x 10^power written out: trailing zeros, or a decimal point with leading zeros.
  function place(digits, power) {
    var text = String(digits);
    if (power >= 0) { return text + '0'.repeat(power); }
    var decimals = -power;
    while (text.length < decimals + 1) { text = '0' + text; }
    return text.slice(0, text.length - decimals) + '.' + text.slice(text.length - decimals);
  }

  // A time in ms or a rate per second, as /api/live sends them (already whole thousandths).
  function figure(value) {
    if (value === null || value === undefined) { return '-'; }
    return thousandths(value * 1000);
  }

  return { thousandths: thousandths, figure: figure };
})();
if (typeof module !== 'undefined') { module.exports = swarmFigure; }
