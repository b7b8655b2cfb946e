import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { barChartSvg, type BarChart } from '../bench/svg-chart.js';
import { externalReferences } from '../scripts/diagrams/external-references.js';

/** The widths of the bars, in document order. */
const barWidths = (svg: string): number[] =>
  [...svg.matchAll(/<rect class="bar"[^>]* width="([^"]+)"/g)].map(([, width]) => Number(width));

/** The text of every <text> element, in document order. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map(([, content]) => content!);

const chart = (panels: BarChart['panels']): BarChart => ({ title: 'T', caption: 'npm run bench, today', panels });

describe('bench SVG bar chart', () => {
  it('draws bars proportional to their values, each panel on its own scale', () => {
    const values = [10, 25, 50, 7.5];
    const svg = barChartSvg(
      chart([
        { title: 'a', unit: 'µs', bars: values.map((value, n) => ({ label: `store ${n}`, value })) },
        {
          title: 'b',
          unit: 'ms',
          bars: [
            { label: 'store 0', value: 0.002 },
            { label: 'store 1', value: 0.001 },
          ],
        },
      ]),
    );
    const widths = barWidths(svg);
    assert.equal(widths.length, 6);
    const longest = widths[2]!;
    assert.ok(longest > 100, `the longest bar is ${longest} px`);
    for (const [n, value] of values.entries())
      assert.ok(Math.abs(widths[n]! - (longest * value) / 50) <= 0.1, `bar ${n}: ${widths[n]} px for ${value}`);
    // The second panel's largest value fills the same length, whatever its unit and magnitude.
    assert.deepEqual(widths.slice(4), [longest, longest / 2]);
  });

  it('labels every bar with its value and unit as the Markdown tables print it', () => {
    const svg = barChartSvg(
      chart([
        {
          title: 'findTokenById',
          unit: 'µs',
          bars: [
            { label: 'Redis', value: 1526.4 },
            { label: 'SQLite', value: 9.534 },
          ],
        },
      ]),
    );
    const shown = texts(svg);
    for (const expected of ['findTokenById', 'Redis', '1526 µs', 'SQLite', '9.53 µs', 'npm run bench, today'])
      assert.ok(shown.includes(expected), `${expected} in ${JSON.stringify(shown)}`);
  });

  it('draws no bar and says n/a for a value that is not a finite number ≥ 0', () => {
    const svg = barChartSvg(
      chart([
        {
          title: 'p',
          unit: 'ms',
          bars: [
            { label: 'ok', value: 4 },
            { label: 'failed', value: Number.NaN },
            { label: 'negative', value: -1 },
          ],
        },
      ]),
    );
    assert.deepEqual(barWidths(svg).slice(1), [0, 0]);
    assert.equal(texts(svg).filter((t) => t === 'n/a').length, 2);
  });

  it('escapes the text it is given', () => {
    const svg = barChartSvg({
      title: 'Stores <&> "all"',
      caption: "Tom's run",
      panels: [{ title: 'find <by> id', unit: 'µs', bars: [{ label: 'a<&b', value: 1 }] }],
    });
    assert.ok(svg.includes('a&lt;&amp;b'));
    assert.ok(svg.includes('Stores &lt;&amp;&gt; &quot;all&quot;'));
    assert.ok(svg.includes('Tom&apos;s run'));
    assert.ok(svg.includes('find &lt;by&gt; id'));
    assert.ok(!svg.includes('a<&b') && !svg.includes('<by>') && !svg.includes('<&>'));
    // Every < left opens or closes an element.
    assert.deepEqual(svg.match(/<(?![a-z/])/g), null);
  });

  it('is a standalone SVG: no link, font or image outside the file', () => {
    const svg = barChartSvg(chart([{ title: 'a', unit: 'µs', bars: [{ label: 'x', value: 1 }] }]));
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
    assert.deepEqual(externalReferences(svg), []);
  });
});
