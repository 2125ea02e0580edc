import { createHash } from 'node:crypto';

/**
 * The feature catalog page `fstore serve` answers at `/ui`: one self-contained HTML document (CSS and
 * plain DOM JavaScript inline, no external URL, no framework) that reads `/ui/api/catalog`.
 *
 * - Search: text (name, description, tag, feature name), tag (`key` or `key=value`), owner, entity and
 *   kind, filtered by the server exactly as `fstore list` filters; the state lives in the URL fragment
 *   (`#/?search=ratio&tag=model%3Dfraud`), so searches can be bookmarked and Back works.
 * - An object (`#/object/<kind>/<name>`): description, owner, version, entities, tags, settings, its
 *   freshness and validation status (feature views), schema (features with types and computations;
 *   columns for sources, join keys for entities), the whole lineage chain (sources -> views -> services,
 *   each a link), and the version history.
 *
 * Everything from the registry is written with `textContent`, never parsed as HTML, and the reply's
 * Content-Security-Policy admits only this page's own script and style (by hash) and requests to itself.
 */

const STYLE = String.raw`
:root { --ink: #1d2430; --muted: #5b6677; --line: #d9dee7; --bg: #f6f7f9; --card: #fff; --accent: #2457c5;
  --ok: #17803d; --ok-bg: #e3f4e8; --bad: #b42318; --bad-bg: #fde7e5; --info: #2457c5; --info-bg: #e6edfb;
  --none: #5b6677; --none-bg: #eceff3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px; background: #1d2430; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header a { color: #fff; text-decoration: none; }
#meta { color: #b8c2d3; font-size: 13px; }
main { max-width: 1180px; margin: 0 auto; padding: 18px 24px 40px; }
form#search-form { display: grid; grid-template-columns: 2fr 1fr 1fr 1fr 1fr auto auto; gap: 10px; align-items: end;
  background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px; }
form label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--ink); }
button { cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); }
button.secondary { background: #fff; color: var(--ink); border-color: var(--line); }
#status { min-height: 20px; margin: 12px 2px 6px; color: var(--muted); }
#error { margin: 12px 0; padding: 10px 12px; border-radius: 6px; background: var(--bad-bg); color: var(--bad); }
ul#results { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; }
li.result { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.result-head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
a.object-link { color: var(--accent); font-weight: 600; font-size: 15px; text-decoration: none; }
a.object-link:hover { text-decoration: underline; }
.kind { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 1px 5px; }
.version { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; color: var(--muted); }
.description { margin: 6px 0 4px; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 14px; color: var(--muted); font-size: 13px; }
.chip { display: inline-block; border-radius: 999px; padding: 1px 8px; margin: 0 4px 2px 0; background: var(--none-bg); color: var(--ink); font-size: 12px; text-decoration: none; }
a.chip:hover { background: var(--info-bg); }
.matched { margin-top: 6px; font-size: 12px; color: var(--muted); }
.matched code { background: #fff7d6; padding: 0 3px; border-radius: 3px; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; border-radius: 4px; padding: 2px 8px; }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.info { color: var(--info); background: var(--info-bg); }
.badge.none { color: var(--none); background: var(--none-bg); }
#detail .back { display: inline-block; margin-bottom: 10px; color: var(--accent); text-decoration: none; }
#detail h2 { margin: 0 0 4px; font-size: 22px; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-top: 14px; }
section.card h3 { margin: 0 0 10px; font-size: 15px; }
dl.grid { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.grid dt { color: var(--muted); }
dl.grid dd { margin: 0; }
.status-row { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-top: 14px; }
.status-row section.card { margin-top: 0; }
.summary { margin: 8px 0 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.mono, span.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
ol.lineage { list-style: none; display: flex; align-items: stretch; gap: 0; margin: 0; padding: 0; overflow-x: auto; }
ol.lineage > li { display: flex; align-items: center; }
ol.lineage > li + li::before { content: "\2192"; color: var(--muted); font-size: 20px; padding: 0 10px; }
.lineage-level { display: flex; flex-direction: column; gap: 6px; }
.node { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; background: #fff; min-width: 150px; }
.node.current { border-color: var(--accent); background: var(--info-bg); }
.node .kind { display: inline-block; margin-bottom: 2px; }
.node a, .node strong { display: block; color: var(--accent); text-decoration: none; font-weight: 600; }
.node strong { color: var(--ink); }
ul.checks { margin: 8px 0 0; padding-left: 18px; }
[hidden] { display: none !important; }
@media (max-width: 860px) { form#search-form { grid-template-columns: 1fr 1fr; } .status-row { grid-template-columns: 1fr; } }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var API = '/ui/api/catalog';
  var FIELDS = ['search', 'tag', 'owner', 'entity', 'kind'];
  var KIND_LABELS = {
    feature_view: 'feature view', on_demand_feature_view: 'on-demand view', feature_service: 'feature service',
    batch_source: 'batch source', kinesis_source: 'Kinesis source', entity: 'entity'
  };
  var sequence = 0;
  var typingTimer = null;

  function byId(id) { return document.getElementById(id); }

  /** An element with text (never parsed as HTML), attributes and children. */
  function el(tag, options, children) {
    var node = document.createElement(tag);
    options = options || {};
    Object.keys(options).forEach(function (name) {
      var value = options[name];
      if (value === undefined || value === null) return;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'className') node.className = value;
      else node.setAttribute(name, String(value));
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function text(value) { return document.createTextNode(String(value)); }
  function kindLabel(kind) { return KIND_LABELS[kind] || String(kind || 'unknown').replace(/_/g, ' '); }
  function objectHref(kind, name) { return '#/object/' + encodeURIComponent(kind) + '/' + encodeURIComponent(name); }
  function searchHref(params) { return '#/?' + queryString(params); }

  function queryString(params) {
    var query = new URLSearchParams();
    FIELDS.forEach(function (field) { if (params[field]) query.set(field, params[field]); });
    return query.toString();
  }

  function setState(state, message) {
    document.body.setAttribute('data-state', state);
    byId('status').textContent = message || '';
  }

  function showError(message) {
    var box = byId('error');
    box.textContent = message;
    box.hidden = false;
    setState('error', '');
  }

  function fetchCatalog(params) {
    var query = queryString(params);
    return fetch(API + (query ? '?' + query : ''), { headers: { accept: 'application/json' } }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body && body.error ? body.error.message : 'HTTP ' + response.status);
        return body;
      });
    });
  }

  function readForm() {
    var params = {};
    FIELDS.forEach(function (field) { params[field] = byId(field).value.trim(); });
    return params;
  }

  function writeForm(params) {
    FIELDS.forEach(function (field) { byId(field).value = params[field] || ''; });
  }

  function fillList(id, values) {
    var list = byId(id);
    list.textContent = '';
    values.forEach(function (value) { list.appendChild(el('option', { value: value })); });
  }

  function showMeta(catalog) {
    byId('meta').textContent = 'project ' + catalog.project + ' \u00b7 registry revision ' + catalog.registry_revision +
      ' \u00b7 read ' + catalog.generated_at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    fillList('owners', catalog.facets.owners);
    fillList('entities', catalog.facets.entities);
    fillList('tags', catalog.facets.tags);
  }

  function tagChips(tags) {
    return Object.keys(tags).map(function (key) {
      var value = key + '=' + tags[key];
      return el('a', { className: 'chip tag', href: searchHref({ tag: value }), text: value, title: 'objects tagged ' + value });
    });
  }

  function route() {
    var hash = location.hash.replace(/^#\/?/, '');
    byId('error').hidden = true;
    if (hash.indexOf('object/') === 0) {
      var parts = hash.slice('object/'.length).split('/');
      showDetail(decodeURIComponent(parts[0] || ''), decodeURIComponent(parts.slice(1).join('/')));
      return;
    }
    var query = new URLSearchParams(hash.replace(/^\?/, ''));
    var params = {};
    FIELDS.forEach(function (field) { params[field] = query.get(field) || ''; });
    var shown = readForm();
    // Leave the boxes alone while they already say this (a trailing space being typed stays).
    if (FIELDS.some(function (field) { return shown[field] !== params[field]; })) writeForm(params);
    showResults(params);
  }

  function showResults(params) {
    var mine = ++sequence;
    byId('detail').hidden = true;
    byId('list').hidden = false;
    setState('loading', 'Searching\u2026');
    fetchCatalog(params).then(function (catalog) {
      if (mine !== sequence) return;
      showMeta(catalog);
      renderResults(catalog, params);
      var filtered = FIELDS.some(function (field) { return params[field]; });
      setState('results', catalog.objects.length + ' of ' + catalog.total + ' objects' + (filtered ? ' match' : ''));
      byId('result-count').textContent = String(catalog.objects.length);
    }).catch(function (error) { if (mine === sequence) showError(error.message); });
  }

  function renderResults(catalog, params) {
    var list = byId('results');
    list.textContent = '';
    var needle = (params.search || '').toLowerCase();
    if (catalog.objects.length === 0) {
      list.appendChild(el('li', { className: 'result empty', text: 'Nothing matches. Clear a filter, or search for part of a name.' }));
      return;
    }
    catalog.objects.forEach(function (object) {
      var facts = el('div', { className: 'facts' }, [
        el('span', { className: 'owner', text: 'owner: ' + (object.owner || '-') }),
        object.entities.length ? el('span', { className: 'entities', text: 'entities: ' + object.entities.join(', ') }) : null,
        object.features.length ? el('span', { text: object.features.length + (object.features.length === 1 ? ' feature' : ' features') }) : null,
        el('span', null, tagChips(object.tags))
      ]);
      var matched = needle ? object.features.filter(function (f) { return f.name.toLowerCase().indexOf(needle) !== -1; }) : [];
      var matchedLine = matched.length ? el('div', { className: 'matched' }, [text('matching features: ')].concat(
        matched.map(function (f, i) { return el('code', { text: f.name + (i < matched.length - 1 ? ' ' : '') }); }))) : null;
      list.appendChild(el('li', { className: 'result', 'data-kind': object.kind, 'data-name': object.name }, [
        el('div', { className: 'result-head' }, [
          el('a', { className: 'object-link', href: objectHref(object.kind, object.name), text: object.name }),
          el('span', { className: 'kind', text: kindLabel(object.kind) }),
          el('span', { className: 'version', text: object.version })
        ]),
        el('p', { className: 'description', text: object.description || 'No description.' }),
        facts,
        matchedLine
      ]));
    });
  }

  function showDetail(kind, name) {
    var mine = ++sequence;
    byId('list').hidden = true;
    var detail = byId('detail');
    detail.hidden = false;
    detail.textContent = '';
    setState('loading', 'Loading ' + name + '\u2026');
    fetchCatalog({}).then(function (catalog) {
      if (mine !== sequence) return;
      showMeta(catalog);
      var index = {};
      catalog.objects.forEach(function (object) { index[object.kind + '/' + object.name] = object; });
      var object = index[kind + '/' + name];
      if (!object) {
        showError('No applied ' + kindLabel(kind) + ' is named "' + name + '". It may have been removed by a later apply.');
        return;
      }
      renderDetail(object, index);
      document.title = object.name + ' \u00b7 fstore catalog';
      setState('detail', '');
    }).catch(function (error) { if (mine === sequence) showError(error.message); });
  }

  function card(id, title, children) {
    return el('section', { className: 'card', id: id }, [el('h3', { text: title })].concat(children));
  }

  function definitionList(rows) {
    var list = el('dl', { className: 'grid' });
    rows.forEach(function (row) {
      if (!row) return;
      list.appendChild(el('dt', { text: row[0] }));
      var value = row[1];
      list.appendChild(value instanceof Node ? el('dd', { id: row[2] }, [value]) : el('dd', { id: row[2], text: value }));
    });
    return list;
  }

  function renderDetail(object, index) {
    var detail = byId('detail');
    var owner = object.owner
      ? el('a', { className: 'chip', href: searchHref({ owner: object.owner }), text: object.owner, title: 'objects owned by ' + object.owner })
      : text('-');
    var entities = object.entities.length
      ? el('span', null, object.entities.map(function (entity) {
        return el('a', { className: 'chip', href: searchHref({ entity: entity }), text: entity, title: 'objects about ' + entity });
      }))
      : text('-');
    var settings = Object.keys(object.settings).map(function (key) { return [key, object.settings[key], 'setting-' + key]; });
    detail.appendChild(el('a', { className: 'back', href: '#/', text: '\u2190 all objects' }));
    detail.appendChild(el('h2', null, [
      el('span', { id: 'detail-name', text: object.name }),
      el('span', { className: 'kind', id: 'detail-kind', text: kindLabel(object.kind) })
    ]));
    detail.appendChild(el('p', { className: 'description', id: 'detail-description', text: object.description || 'No description.' }));
    detail.appendChild(card('detail-about', 'About', [definitionList([
      ['owner', owner, 'detail-owner'],
      ['version', el('span', { className: 'mono', text: object.version }), 'detail-version'],
      ['entities', entities, 'detail-entities'],
      ['tags', Object.keys(object.tags).length ? el('span', null, tagChips(object.tags)) : text('-'), 'detail-tags']
    ].concat(settings))]));
    if (object.freshness || object.validation) {
      detail.appendChild(el('div', { className: 'status-row' }, [freshnessCard(object.freshness), validationCard(object.validation)]));
    }
    detail.appendChild(schemaCard(object));
    detail.appendChild(lineageCard(object, index));
    detail.appendChild(historyCard(object));
  }

  function badge(className, label) { return el('span', { className: 'badge ' + className, text: label }); }

  function freshnessCard(freshness) {
    if (!freshness) return card('detail-freshness', 'Freshness', [el('p', { text: 'Not tracked.' })]);
    var styles = { fresh: ['info', freshness.seconds === null ? 'fresh' : 'as of ' + age(freshness.seconds) + ' ago'],
      never: ['none', 'never materialized'], not_tracked: ['none', 'not tracked'], error: ['bad', 'unreadable'] };
    var style = styles[freshness.state] || ['none', freshness.state];
    var rows = [['basis', freshness.basis || '-', 'freshness-basis'], ['through', freshness.through || '-', 'freshness-through']];
    return card('detail-freshness', 'Freshness', [
      el('div', { 'data-state': freshness.state }, [badge(style[0], style[1])]),
      el('p', { className: 'summary', id: 'freshness-summary', text: freshness.summary }),
      definitionList(rows)
    ]);
  }

  function validationCard(validation) {
    if (!validation) return card('detail-validation', 'Validation', [el('p', { text: 'Not validated.' })]);
    var styles = { passed: 'ok', failed: 'bad', error: 'bad' };
    var labels = { passed: 'passed', failed: 'failed', not_validated: 'not validated', no_data: 'no data', unavailable: 'unavailable', error: 'unreadable' };
    var children = [
      el('div', { 'data-state': validation.state }, [badge(styles[validation.state] || 'none', labels[validation.state] || validation.state)]),
      el('p', { className: 'summary', id: 'validation-summary', text: validation.summary }),
      definitionList([
        ['newest partition', validation.dt || '-', 'validation-dt'],
        ['partitions', String(validation.partitions), 'validation-partitions'],
        ['validated at', validation.validated_at || '-', 'validation-at']
      ])
    ];
    if (validation.failed_checks.length) {
      children.push(el('ul', { className: 'checks' }, validation.failed_checks.map(function (c) {
        return el('li', { text: c.feature + ': ' + c.check + ' \u2014 ' + c.detail });
      })));
    }
    if (validation.newest_refused) {
      children.push(el('p', { className: 'summary', text: 'Refused by strict validation: ' + validation.newest_refused.dt +
        ' (' + validation.newest_refused.failed_checks.length + ' failed checks); the older day stays published.' }));
    }
    return card('detail-validation', 'Validation', children);
  }

  function schemaCard(object) {
    var table;
    if (object.features.length) {
      table = el('table', { id: 'schema-table' }, [
        el('thead', null, [el('tr', null, [el('th', { text: 'feature' }), el('th', { text: 'type' }), el('th', { text: 'computed as' })])]),
        el('tbody', null, object.features.map(function (feature) {
          return el('tr', { 'data-feature': feature.name }, [
            el('td', { className: 'mono', text: feature.name }),
            el('td', { className: 'mono dtype', text: feature.dtype || '?' }),
            el('td', { text: feature.computation || '-' })
          ]);
        }))
      ]);
    } else if (object.columns.length) {
      table = el('table', { id: 'schema-table' }, [
        el('thead', null, [el('tr', null, [el('th', { text: object.kind === 'entity' ? 'join key' : 'column' }), el('th', { text: 'type' })])]),
        el('tbody', null, object.columns.map(function (column) {
          return el('tr', { 'data-column': column.name }, [el('td', { className: 'mono', text: column.name }), el('td', { className: 'mono dtype', text: column.dtype })]);
        }))
      ]);
    } else {
      table = el('p', { text: 'No schema.' });
    }
    return card('detail-schema', 'Schema', [table]);
  }

  /** The lineage chain: every level upstream, the object, every level downstream (breadth first, each object once). */
  function lineageCard(object, index) {
    var seen = {};
    seen[object.kind + '/' + object.name] = true;
    function levels(direction) {
      var found = [];
      var frontier = [object];
      while (frontier.length && found.length < 50) {
        var next = [];
        frontier.forEach(function (current) {
          ((current.lineage && current.lineage[direction]) || []).forEach(function (link) {
            var key = link.kind + '/' + link.name;
            if (seen[key]) return;
            seen[key] = true;
            next.push(index[key] || { kind: link.kind, name: link.name, missing: true });
          });
        });
        if (next.length) found.push(next);
        frontier = next;
      }
      return found;
    }
    var upstream = levels('upstream').reverse();
    var downstream = levels('downstream');
    var chain = el('ol', { className: 'lineage', id: 'lineage-chain' });
    function addLevel(nodes, role) {
      chain.appendChild(el('li', null, [el('div', { className: 'lineage-level', 'data-role': role }, nodes.map(function (node) {
        var current = node === object;
        return el('div', { className: 'node' + (current ? ' current' : ''), 'data-kind': node.kind || '', 'data-name': node.name }, [
          el('span', { className: 'kind', text: kindLabel(node.kind) }),
          current || node.missing ? el('strong', { text: node.name }) : el('a', { href: objectHref(node.kind, node.name), text: node.name })
        ]);
      }))]));
    }
    upstream.forEach(function (nodes) { addLevel(nodes, 'upstream'); });
    addLevel([object], 'current');
    downstream.forEach(function (nodes) { addLevel(nodes, 'downstream'); });
    var direct = el('p', { className: 'summary' }, [
      text('reads from: ' + (object.lineage.upstream.map(function (l) { return l.label; }).join(', ') || '-') +
        ' \u00b7 used by: ' + (object.lineage.downstream.map(function (l) { return l.label; }).join(', ') || '-'))
    ]);
    return card('detail-lineage', 'Lineage', [chain, direct]);
  }

  function historyCard(object) {
    var entries = object.version_history.slice().reverse();
    var body = entries.length ? el('table', { id: 'history-table' }, [
      el('thead', null, [el('tr', null, ['revision', 'version', 'change', 'applied at', 'applied by'].map(function (h) { return el('th', { text: h }); }))]),
      el('tbody', null, entries.map(function (entry, position) {
        var current = position === 0 && entry.action !== 'remove' && entry.version === object.version;
        return el('tr', { 'data-version': entry.version, 'data-revision': entry.revision }, [
          el('td', { text: String(entry.revision) }),
          el('td', { className: 'mono' }, [text(entry.version), current ? text(' ') : null, current ? badge('info', 'applied') : null]),
          el('td', { text: entry.action + (entry.breaking ? ' (breaking)' : '') }),
          el('td', { text: entry.applied_at }),
          el('td', { text: entry.applied_by })
        ]);
      }))
    ]) : el('p', { text: 'No history.' });
    return card('detail-history', 'Version history', [body]);
  }

  function age(seconds) {
    if (seconds < 60) return Math.floor(seconds) + ' s';
    if (seconds < 3600) return Math.floor(seconds / 60) + ' min';
    if (seconds < 86400) return Math.floor(seconds / 3600) + ' h';
    return Math.floor(seconds / 86400) + ' d';
  }

  function search(replace) {
    var target = searchHref(readForm());
    if (location.hash === target) { route(); return; }
    if (replace && location.hash.indexOf('#/?') === 0) location.replace(target);
    else location.hash = target;
  }

  byId('search-form').addEventListener('submit', function (event) {
    event.preventDefault();
    clearTimeout(typingTimer);
    search(false);
  });
  FIELDS.forEach(function (field) {
    byId(field).addEventListener(field === 'kind' ? 'change' : 'input', function () {
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { search(true); }, 250);
    });
  });
  byId('clear').addEventListener('click', function () {
    writeForm({});
    clearTimeout(typingTimer);
    search(false);
  });
  window.addEventListener('hashchange', route);
  route();
})();
`;

const KIND_OPTIONS: readonly (readonly [string, string])[] = [
  ['', 'any kind'],
  ['feature_view', 'feature views'],
  ['on_demand_feature_view', 'on-demand views'],
  ['feature_service', 'feature services'],
  ['batch_source', 'batch sources'],
  ['kinesis_source', 'Kinesis sources'],
  ['entity', 'entities'],
];

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function buildPage(): { html: string; contentSecurityPolicy: string } {
  const kinds = KIND_OPTIONS.map(([value, label]) => `<option value="${value}">${label}</option>`).join('');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fstore feature catalog</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-state="loading">
<header><h1><a href="#/">fstore feature catalog</a></h1><span id="meta"></span></header>
<main>
<form id="search-form" role="search" autocomplete="off">
<label>Search<input id="search" type="search" placeholder="name, description, tag or feature"></label>
<label>Tag<input id="tag" list="tags" placeholder="key or key=value"></label>
<label>Owner<input id="owner" list="owners" placeholder="owner"></label>
<label>Entity<input id="entity" list="entities" placeholder="entity"></label>
<label>Kind<select id="kind">${kinds}</select></label>
<button type="submit">Search</button>
<button type="button" id="clear" class="secondary">Clear</button>
</form>
<datalist id="tags"></datalist><datalist id="owners"></datalist><datalist id="entities"></datalist>
<div id="error" role="alert" hidden></div>
<div id="list">
<p id="status" aria-live="polite"></p>
<span id="result-count" hidden></span>
<ul id="results"></ul>
</div>
<article id="detail" hidden></article>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

let page: { html: string; contentSecurityPolicy: string } | undefined;

/** The page and the Content-Security-Policy to send with it (built once). */
export function catalogPage(): { readonly html: string; readonly contentSecurityPolicy: string } {
  page ??= buildPage();
  return page;
}
