// Holds the live page's figure rule (figure.js) to the Rust rule's table of cases
// (src/figure/cases.txt), so the two cannot drift: `node figure_check.js CASES` prints each
// case that differs and exits 1 if any does. The web tests run it when node is installed.
'use strict';
var fs = require('fs');
var path = require('path');
var swarmFigure = require(path.join(__dirname, 'figure.js'));

var wrong = [];
var checked = 0;
function expect(call, got, shown) {
  checked += 1;
  if (got !== shown) { wrong.push(call + ' gave ' + JSON.stringify(got) + ', the table says ' + JSON.stringify(shown)); }
}
fs.readFileSync(process.argv[2], 'utf8').split('\n').forEach(function (line) {
  if (line.trim() === '' || line[0] === '#') { return; }
  var cells = line.split('\t');
  var input = Number(cells[0]);
  expect('thousandths(' + cells[0] + ')', swarmFigure.thousandths(input), cells[1]);
  // The page's entry point takes whole units (ms, or per second), as /api/live sends them.
  expect('figure(' + cells[0] + ' / 1000)', swarmFigure.figure(input / 1000), cells[1]);
});
wrong.forEach(function (w) { console.log(w); });
console.log(checked + ' checks, ' + wrong.length + ' wrong');
process.exit(wrong.length === 0 && checked > 0 ? 0 : 1);
