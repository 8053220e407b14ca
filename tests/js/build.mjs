// node build.mjs TOKENS.json OUTDIR — build our DTCG document with Style Dictionary v5.
// Warnings are errors: a token SD cannot read must fail the test, not scroll by.
import StyleDictionary from 'style-dictionary';

const [tokens, out] = process.argv.slice(2);
const sd = new StyleDictionary({
  source: [tokens],
  log: { warnings: 'error', verbosity: 'verbose' },
  platforms: {
    css: { transformGroup: 'css', buildPath: `${out}/`,
           files: [{ destination: 'variables.css', format: 'css/variables' }] },
    js: { transformGroup: 'js', buildPath: `${out}/`,
          files: [{ destination: 'tokens.js', format: 'javascript/es6' }] },
  },
});
await sd.buildAllPlatforms();
