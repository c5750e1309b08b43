import assert from 'node:assert/strict';
import { barChart, lineChart, niceMax } from '../../src/channels/http/svg-charts.js';

const input = { id: 'c1', title: 'Messages <per> hour', desc: 'Inbound & rejected', labels: ['00h', '01h', '02h'] };

describe('server-drawn SVG charts', () => {
  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual([niceMax([]), niceMax([0]), niceMax([3]), niceMax([7, null]), niceMax([12]), niceMax([0.3]), niceMax([200])], [1, 1, 5, 10, 20, 0.5, 200]);
  });

  it('draws one bar per value, its height in proportion, labelled for assistive technology', () => {
    const svg = barChart(input, [0, 5, 10]);
    assert.match(svg, /^<svg [^>]*role="img" aria-labelledby="c1-title c1-desc"/);
    assert.match(svg, /<title id="c1-title">Messages &lt;per&gt; hour<\/title><desc id="c1-desc">Inbound &amp; rejected<\/desc>/);
    const heights = [...svg.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(heights.length, 3);
    assert.equal(heights[0], 0);
    assert.ok(Math.abs((heights[2] as number) - 2 * (heights[1] as number)) < 0.2, heights.join());
    assert.match(svg, /<title>02h: 10<\/title>/);
    assert.doesNotMatch(svg, /NaN|undefined|<script/);
  });

  it('draws each series as a line broken where a value is missing, with a legend', () => {
    const svg = lineChart(input, [
      { name: 'p50', values: [1, null, 3] },
      { name: 'p95', values: [2, 4, 6] },
    ]);
    const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1]?.split(' ').length);
    assert.deepEqual(lines, [1, 1, 3], 'p50 in two runs around the gap, p95 in one');
    assert.match(svg, /— p50<\/text>/);
    assert.match(svg, /— p95<\/text>/);
    assert.equal((svg.match(/<circle /g) ?? []).length, 5);
  });

  it('draws an empty chart without dividing by zero', () => {
    const svg = barChart({ ...input, labels: [] }, []);
    assert.doesNotMatch(svg, /NaN|Infinity/);
  });
});
