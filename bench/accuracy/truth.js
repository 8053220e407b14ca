// Ground truth from the DOM of a rendered page (viewport only, scrolled to the top).
// Returns raw records; bench/accuracy/truth.py turns them into expected tokens.
// The rules are documented at the top of bench/accuracy/run.py.
() => {
  const W = innerWidth, H = innerHeight;
  const VIEW = {l: 0, t: 0, r: W, b: H};
  const parse = (s) => {
    const m = /^rgba?\(([^)]*)\)$/.exec((s || '').trim());
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map(i => Math.round(top[i] * a + bottom[i] * (1 - a))).concat([1]);
  };
  const memo = new Map();
  const effBg = (el) => {
    if (!el || el.nodeType !== 1) return [255, 255, 255, 1];
    if (memo.has(el)) return memo.get(el);
    const below = effBg(el.parentElement);
    const c = parse(getComputedStyle(el).backgroundColor);
    const r = (c && c[3] > 0) ? over(c, below) : below;
    memo.set(el, r);
    return r;
  };
  const inter = (a, b) => ({l: Math.max(a.l, b.l), t: Math.max(a.t, b.t),
                            r: Math.min(a.r, b.r), b: Math.min(a.b, b.b)});
  const box = (r) => ({l: r.left, t: r.top, r: r.right, b: r.bottom});
  const area = (c) => Math.max(0, c.r - c.l) * Math.max(0, c.b - c.t);
  // overflow of <html>/<body> applies to the viewport, not to their own boxes
  const clips = (el) => {
    if (el === document.documentElement || el === document.body) return false;
    const cs = getComputedStyle(el);
    return cs.overflowX !== 'visible' || cs.overflowY !== 'visible';
  };
  // the rectangle that clips what `el` paints: viewport and overflow-clipping ancestors
  const clipMemo = new Map();
  const clipOf = (el) => {
    if (clipMemo.has(el)) return clipMemo.get(el);
    const p = el.parentElement;
    let c = VIEW;
    if (p && getComputedStyle(el).position !== 'fixed') {
      c = clipOf(p);
      if (clips(p)) c = inter(c, box(p.getBoundingClientRect()));
    }
    clipMemo.set(el, c);
    return c;
  };
  const shown = (el) => el.checkVisibility({opacityProperty: true, visibilityProperty: true});

  // ---------------------------------------------------------------- colours (as before)
  const colors = [];
  const add = (rgba, kind, under, extra) => {
    if (!rgba || rgba[3] === 0) return;
    const c = rgba[3] < 1 ? over(rgba, effBg(under)) : rgba;
    colors.push(Object.assign({rgb: c.slice(0, 3), kind}, extra || {}));
  };
  const overlays = [];
  const visibleArea = (el, cs) => {
    if (cs.display === 'none' || cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) return null;
    const r = el.getBoundingClientRect();
    const w = Math.min(r.right, W) - Math.max(r.left, 0), h = Math.min(r.bottom, H) - Math.max(r.top, 0);
    return (w > 0 && h > 0) ? w * h : null;
  };
  const sides = ['Top', 'Right', 'Bottom', 'Left'];

  // ---------------------------------------------------------------- geometry helpers
  const CORNERS = ['TopLeft', 'TopRight', 'BottomRight', 'BottomLeft'];
  const radiusMemo = new Map();
  // used radii per corner after CSS clamping: [[rx, ry] x 4]
  const radii = (el) => {
    if (radiusMemo.has(el)) return radiusMemo.get(el);
    const cs = getComputedStyle(el), r = el.getBoundingClientRect();
    const raw = CORNERS.map(k => {
      const p = cs['border' + k + 'Radius'].split(/\s+/);
      const v = (s, ref) => s.endsWith('%') ? parseFloat(s) / 100 * ref : (parseFloat(s) || 0);
      return [v(p[0], r.width), v(p[1] || p[0], r.height)];
    });
    const f = Math.min(1,
      r.width / Math.max(1e-9, raw[0][0] + raw[1][0]), r.width / Math.max(1e-9, raw[3][0] + raw[2][0]),
      r.height / Math.max(1e-9, raw[0][1] + raw[3][1]), r.height / Math.max(1e-9, raw[1][1] + raw[2][1]));
    const out = raw.map(([x, y]) => [x * f, y * f]);
    radiusMemo.set(el, out);
    return out;
  };
  const cornerPoint = (r, i) => [i === 0 || i === 3 ? r.left : r.right, i < 2 ? r.top : r.bottom];
  const near = (a, b) => Math.abs(a[0] - b[0]) <= 1 && Math.abs(a[1] - b[1]) <= 1;
  const layers = (s) => {
    if (!s || s === 'none') return [];
    const out = [];
    for (const part of s.split(/,(?![^(]*\))/)) {
      const col = /rgba?\([^)]*\)/.exec(part);
      const nums = part.replace(/rgba?\([^)]*\)/, '').match(/-?[\d.]+px|-?[\d.]+(?=\s|$)/g) || [];
      const n = nums.map(parseFloat);
      out.push({rgba: col ? parse(col[0]) : [0, 0, 0, 1], x: n[0] || 0, y: n[1] || 0,
                blur: n[2] || 0, spread: n[3] || 0, inset: /\binset\b/.test(part)});
    }
    return out;
  };

  const texts = [], boxes = [], gaps = [];
  const ids = new Map();
  const TEXT_INPUTS = new Set(['', 'text', 'email', 'password', 'search', 'number', 'tel', 'url']);
  const NATIVE = new Set(['checkbox', 'radio', 'range', 'color', 'file', 'hidden']);

  for (const el of document.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    // ---- colours: unchanged rules of the colour-only harness
    const carea = visibleArea(el, cs);
    if (carea !== null) {
      const bg = parse(cs.backgroundColor);
      if (bg && bg[3] > 0) colors.push({rgb: effBg(el).slice(0, 3), kind: 'background', area: carea});
      for (const m of (cs.backgroundImage || '').matchAll(/rgba?\([^)]*\)/g)) add(parse(m[0]), 'gradient', el.parentElement);
      if (bg && bg[3] > 0 && bg[3] < 1 && ['fixed', 'absolute'].includes(cs.position))
        overlays.push({bg, index: colors.length});
      for (const s of sides) {
        if (parseFloat(cs['border' + s + 'Width']) > 0 && !['none', 'hidden'].includes(cs['border' + s + 'Style']))
          add(parse(cs['border' + s + 'Color']), 'border', el);
      }
      if (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) add(parse(cs.outlineColor), 'outline', el.parentElement);
      for (const m of (cs.boxShadow || '').matchAll(/(rgba?\([^)]*\))\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+([\d.]+)px/g))
        if (parseFloat(m[4]) === 0) add(parse(m[1]), 'shadow', el.parentElement);
      if (el instanceof SVGElement) {
        add(parse(cs.fill), 'svg', el.parentElement);
        add(parse(cs.stroke), 'svg', el.parentElement);
      }
      for (const pseudo of ['::before', '::after']) {
        const ps = getComputedStyle(el, pseudo);
        if (ps.content === 'none' || ps.display === 'none') continue;
        add(parse(ps.backgroundColor), 'background', el);
        for (const s of sides) {
          if (parseFloat(ps['border' + s + 'Width']) > 0 && !['none', 'hidden'].includes(ps['border' + s + 'Style']))
            add(parse(ps['border' + s + 'Color']), 'border', el);
        }
      }
      let textArea = 0;
      for (const n of el.childNodes) {
        if (n.nodeType !== 3 || !n.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        for (const r of range.getClientRects()) {
          const w = Math.min(r.right, W) - Math.max(r.left, 0), h = Math.min(r.bottom, H) - Math.max(r.top, 0);
          if (w > 0 && h > 0) textArea += w * h;
        }
      }
      if (el.tagName === 'INPUT' && el.value) textArea += carea * 0.3;
      if (textArea > 0) {
        const c = parse(cs.color);
        if (c && c[3] > 0) {
          const rgb = c[3] < 1 ? over(c, effBg(el)) : c;
          colors.push({rgb: rgb.slice(0, 3), kind: 'text', textArea,
                       size: parseFloat(cs.fontSize), weight: parseInt(cs.fontWeight) || 400});
        }
      }
    }

    // ---- everything else: visible = rendered, not transparent, inside its clip
    if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue;
    if (cs.display === 'none' || cs.display === 'contents' || !shown(el)) continue;
    const rect = el.getBoundingClientRect();
    const clip = clipOf(el);
    const vis = inter(box(rect), clip);
    if (area(vis) <= 0) continue;
    const id = ids.size;
    ids.set(el, id);
    const isInput = el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT';
    const native = el.tagName === 'INPUT' && NATIVE.has((el.getAttribute('type') || '').toLowerCase());

    // text: visible characters of the element's own text nodes (and form control values)
    const fg = parse(cs.color);
    let chars = 0, lines = new Set(), pitches = [];
    const textClip = clips(el) ? inter(clip, box(rect)) : clip;
    if (fg && fg[3] > 0) {
      for (const n of el.childNodes) {
        if (n.nodeType !== 3) continue;
        const nchars = n.textContent.replace(/\s+/g, '').length;
        if (!nchars) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        const rs = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
        const total = rs.reduce((s, r) => s + r.width, 0);
        let prevTop = null;
        for (const r of rs) {
          const v = inter(box(r), textClip);
          const vw = Math.max(0, v.r - v.l), vh = Math.max(0, v.b - v.t);
          if (vh >= 0.5 * r.height && vw > 0) {
            chars += nchars * vw / total;
            lines.add(Math.round(r.top));
          }
          if (prevTop !== null && r.top - prevTop > 1) pitches.push(r.top - prevTop);
          prevTop = r.top;
        }
      }
      if (isInput && !native) {
        const type = (el.getAttribute('type') || '').toLowerCase();
        let s = '';
        if (el.tagName === 'SELECT') s = el.selectedOptions[0] ? el.selectedOptions[0].text : '';
        else if (el.tagName === 'TEXTAREA' || TEXT_INPUTS.has(type)) s = el.value || el.placeholder || '';
        else if (type === 'submit' || type === 'button' || type === 'reset') s = el.value || '';
        const n = s.replace(/\s+/g, '').length;
        if (n) { chars += n * Math.min(1, (vis.r - vis.l) / Math.max(1, rect.width)); lines.add(Math.round(rect.top)); }
      }
    }
    if (chars >= 0.5) {
      pitches.sort((a, b) => a - b);
      texts.push({id, chars, size: parseFloat(cs.fontSize), weight: parseInt(cs.fontWeight) || 400,
                  family: cs.fontFamily.split(',')[0].replace(/["']/g, '').trim(),
                  lineHeight: cs.lineHeight === 'normal' ? null : parseFloat(cs.lineHeight),
                  lines: lines.size, pitch: pitches.length ? pitches[pitches.length >> 1] : null});
    }
    if (native) continue;

    // painted: a background that differs from what is under it, an image or gradient,
    // a visible border, or a visible shadow
    const bg = parse(cs.backgroundColor);
    const under = effBg(el.parentElement);
    const own = effBg(el);
    const bgDiff = Math.max(...[0, 1, 2].map(i => Math.abs(own[i] - under[i])));
    const borderOn = sides.some(s => parseFloat(cs['border' + s + 'Width']) > 0
        && !['none', 'hidden'].includes(cs['border' + s + 'Style'])
        && (parse(cs['border' + s + 'Color']) || [0, 0, 0, 0])[3] > 0);
    const shadow = layers(cs.boxShadow).map(l => Object.assign(l, {
      strength: l.rgba[3] * Math.max(...[0, 1, 2].map(i => Math.abs(l.rgba[i] - under[i])))}));
    const media = ['IMG', 'VIDEO', 'CANVAS', 'IFRAME', 'svg'].includes(el.tagName);
    const painted = (bg && bg[3] > 0 && bgDiff >= 3) || cs.backgroundImage !== 'none' || borderOn || media
        || shadow.some(l => !l.inset && l.strength >= 8 && (l.blur > 0 || l.x || l.y));

    // corners: used radius (after clamping), widened by a clipping ancestor whose corner
    // coincides (a card with overflow:hidden rounds its image's corners)
    const rr = radii(el);
    const corners = rr.map(([rx, ry], i) => {
      let r = Math.min(rx, ry);
      const ellipse = Math.max(rx, ry) / Math.max(1e-9, r);
      const pt = cornerPoint(rect, i);
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (!clips(a)) continue;
        if (near(cornerPoint(a.getBoundingClientRect(), i), pt)) r = Math.max(r, Math.min(...radii(a)[i]));
      }
      const inClip = pt[0] >= clip.l - 0.5 && pt[0] <= clip.r + 0.5 && pt[1] >= clip.t - 0.5 && pt[1] <= clip.b + 0.5;
      return {r, ellipse, visible: inClip};
    });

    let kids = 0;
    for (const c of el.children) {
      const k = c.getBoundingClientRect();
      if (k.width > 0 && k.height > 0 && getComputedStyle(c).display !== 'none') kids++;
    }
    boxes.push({id, tag: el.tagName.toLowerCase(), cls: (el.getAttribute('class') || '').slice(0, 40),
                rect: [rect.left, rect.top, rect.width, rect.height], visArea: area(vis),
                painted, corners, shadow,
                padding: sides.map(s => parseFloat(cs['padding' + s]) || 0),
                margin: sides.map(s => String(el.computedStyleMap().get('margin-' + s.toLowerCase())) === 'auto'
                                       ? 0 : parseFloat(cs['margin' + s]) || 0),
                content: kids > 0 || chars >= 0.5});

    // gaps between neighbouring in-flow children: only where the distance is exactly the
    // declared gap plus margins (not justify-content spreading, not inline whitespace)
    if (cs.display === 'inline') continue;
    const flexGrid = /flex|grid/.test(cs.display);
    const cg = parseFloat(cs.columnGap) || 0, rg = parseFloat(cs.rowGap) || 0;
    const items = [];
    for (const c of el.children) {
      const k = getComputedStyle(c);
      if (['absolute', 'fixed'].includes(k.position) || ['none', 'contents', 'inline'].includes(k.display)) continue;
      if (!shown(c)) continue;
      const r = c.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0 || area(inter(box(r), clipOf(c))) <= 0) continue;
      // auto margins (margin-right:auto pushing siblings apart) are not spacing
      const map = c.computedStyleMap();
      const auto = ['top', 'right', 'bottom', 'left'].map(s => String(map.get('margin-' + s)) === 'auto');
      items.push({r, m: sides.map(s => parseFloat(k['margin' + s]) || 0), auto});
    }
    if (items.length < 2) continue;
    const found = [];
    for (const a of items) {
      let right = null, below = null;
      for (const b of items) {
        if (a === b) continue;
        const dx = b.r.left - a.r.right, dy = b.r.top - a.r.bottom;
        const ov = (lo1, hi1, lo2, hi2) => Math.min(hi1, hi2) - Math.max(lo1, lo2);
        if (dx > -0.5 && ov(a.r.top, a.r.bottom, b.r.top, b.r.bottom) >= 0.5 * Math.min(a.r.height, b.r.height)
            && (!right || dx < right.d)) right = {d: dx, b};
        if (dy > -0.5 && ov(a.r.left, a.r.right, b.r.left, b.r.right) >= 0.5 * Math.min(a.r.width, b.r.width)
            && (!below || dy < below.d)) below = {d: dy, b};
      }
      if (right) {
        const decl = (flexGrid ? cg : 0) + a.m[1] + right.b.m[3];
        if (right.d >= 0.5 && !a.auto[1] && !right.b.auto[3] && Math.abs(right.d - decl) <= 0.5) found.push({d: decl, axis: 'x'});
      }
      if (below) {
        const ma = a.m[2], mb = below.b.m[0];
        const collapsed = flexGrid ? rg + ma + mb
            : Math.max(ma, mb, 0) + Math.min(ma, mb, 0);
        if (below.d >= 0.5 && !a.auto[2] && !below.b.auto[0] && Math.abs(below.d - collapsed) <= 0.5) found.push({d: collapsed, axis: 'y'});
      }
    }
    const declared = flexGrid ? [cg, rg].filter(v => v > 0) : [];
    if (found.length || declared.length)
      gaps.push({id, tag: el.tagName.toLowerCase(), cls: (el.getAttribute('class') || '').slice(0, 40),
                 values: found, declared});
  }
  for (const o of overlays)
    for (const item of colors.slice(0, o.index))
      colors.push({rgb: over(o.bg, item.rgb.concat([1])).slice(0, 3), kind: 'overlay'});
  return {colors, texts, boxes, gaps};
};
