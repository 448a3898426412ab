#!/usr/bin/env node
/*
 * PouchDB comparison for the sync benchmark.
 *
 * Setup (pinned in bench/pouch/package.json):
 *   - pouchdb-node 9.0.0 (the Node build of PouchDB 9: leveldb adapter through
 *     leveldown 6.1.1, whose npm package ships its prebuilt linux-x64 binary;
 *     HTTP adapter through node-fetch 2.6.9, which asks for gzip/deflate)
 *   - express-pouchdb 4.2.0 in mode "minimumForPouchDB" (the routes a PouchDB
 *     client needs, including its gzip 'compression' middleware; no config.json
 *     or log.txt written), on express 4.22.3 (the major express-pouchdb needs)
 *   - pouchdb-adapter-memory 9.0.0 (memdown 1.4.1), only with --adapter memory
 *   - Node v20, plain http on 127.0.0.1, no auth.
 * By default (--adapter leveldb) both the clients' local databases and the
 * server's databases are leveldb stores in temp dirs under os.tmpdir()
 * (pouchbench-*), removed at the end. With --adapter memory both are memdown.
 * Replication uses PouchDB's defaults (batch_size 100, batches_limit 10,
 * checkpoints on both sides, _bulk_get when the server offers it); nothing is
 * tuned. Documents: _id = zero-padded index (8 digits), body = the input
 * line's JSON object. Only the replicate() call is timed; loading the local
 * databases (bulkDocs in batches of 1000) and creating the server db are not.
 *
 * Wire bytes: the client talks to a counting TCP proxy (net.createServer,
 * piping both ways) in front of the express-pouchdb server; every byte the
 * proxy forwards, in either direction, during the timed replication counts
 * (HTTP headers and bodies; not TCP/IP overhead).
 *
 * Module resolution: modules are looked up with plain require(), so
 *   NODE_PATH=bench/out/pouch/node_modules node bench/pouch/pouch.js ...
 * works (NODE_PATH is resolved against the current directory). Alternatively
 * give the node_modules dir with --modules DIR or the POUCH_MODULES env var;
 * then modules are loaded with module.createRequire() from that dir, and
 * NODE_PATH is not needed.
 *
 * Usage:
 *   node bench/pouch/pouch.js --scenario first  --input FILE.jsonl
 *   node bench/pouch/pouch.js --scenario change --input FILE.jsonl
 *        [--docs 10000] [--repeats 5]
 *   node bench/pouch/pouch.js --scenario many   --input FILE.jsonl
 *        [--devices 100] [--per 1000]
 *   common: [--adapter leveldb|memory] [--modules DIR] [--limit N]
 *
 * first:  all lines (or the first --limit N) into one local db, then time one
 *         push PouchDB.replicate(local, remote).
 * change: the first --docs lines (default 10,000) pushed as in "first" (not
 *         timed); then --repeats times: update one document locally (a
 *         different one each time), and time a fresh
 *         PouchDB.replicate(local, URL) (a new remote handle each time, so it
 *         includes the remote db info request and the checkpoint reads, as a
 *         device coming back online would do).
 * many:   --devices local dbs with --per distinct docs each (lines
 *         0..devices*per-1, wrapping around if the file is shorter; ids stay
 *         distinct), all pushing at once (Promise.all) into the one server db.
 *
 * Output: one JSON line per run on stdout; progress on stderr. Exit status is
 * non-zero on any error (including failed replications or a wrong server doc
 * count in "many", after the JSON line is printed).
 *
 * Measured with this setup (2 cores, Node v20.20.2, leveldb, input from
 * `python3 bench/gen_appeals.py 100000 > appeals.jsonl`, seed 1):
 *   first  100,000 docs: 24.2 s, 4,134 docs/s, 1.256 wire bytes per JSON byte
 *   change (10,000 docs): 7-11 ms, median 8.2 ms; 5.5-6.4 KB, median 6.0 KB
 *          (bytes grow per repeat as the _local checkpoint history grows)
 *   many   100 x 1,000: 19.8 s, 0 errors, 100,000 docs on the server
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const Module = require('module');

function log(...a) { process.stderr.write('[pouch] ' + a.join(' ') + '\n'); }

function parseArgs(argv) {
  const o = {
    scenario: null, input: null, devices: 100, per: 1000, docs: 10000,
    repeats: 5, adapter: 'leveldb', modules: process.env.POUCH_MODULES || null,
    limit: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error('missing value for ' + k);
      return argv[++i];
    };
    const n = () => {
      const x = Number(v());
      if (!Number.isInteger(x) || x < 0) throw new Error('bad number for ' + k);
      return x;
    };
    switch (k) {
      case '--scenario': o.scenario = v(); break;
      case '--input': o.input = v(); break;
      case '--devices': o.devices = n(); break;
      case '--per': o.per = n(); break;
      case '--docs': o.docs = n(); break;
      case '--repeats': o.repeats = n(); break;
      case '--adapter': o.adapter = v(); break;
      case '--modules': o.modules = v(); break;
      case '--limit': o.limit = n(); break;
      case '-h': case '--help':
        process.stdout.write(fs.readFileSync(__filename, 'utf8')
          .split('\n').slice(1, 60).join('\n') + '\n');
        process.exit(0);
        break;
      default: throw new Error('unknown argument ' + k);
    }
  }
  if (!['first', 'change', 'many'].includes(o.scenario))
    throw new Error('--scenario must be first, change or many');
  if (!o.input) throw new Error('--input FILE.jsonl is required');
  if (!['leveldb', 'memory'].includes(o.adapter))
    throw new Error('--adapter must be leveldb or memory');
  if (o.devices < 1 || o.per < 1 || o.repeats < 1 || o.docs < 1)
    throw new Error('--devices, --per, --repeats and --docs must be >= 1');
  return o;
}

function loadModules(dir) {
  const req = dir
    ? Module.createRequire(path.join(path.resolve(dir), '_pouch_bench_.js'))
    : require;
  try {
    return {
      PouchDB: req('pouchdb-node'),
      expressPouchDB: req('express-pouchdb'),
      memoryAdapter: () => req('pouchdb-adapter-memory'),
    };
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND')
      throw new Error(e.message.split('\n')[0] + ' (install bench/pouch/' +
        'package.json and set NODE_PATH to its node_modules, or pass ' +
        '--modules DIR / POUCH_MODULES=DIR)');
    throw e;
  }
}

// Reads the JSONL file: returns [{line, bytes}] with empty lines skipped.
function readInput(file, maxLines) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  let start = 0;
  while (start < text.length && (!maxLines || out.length < maxLines)) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() !== '') out.push(line);
    start = end + 1;
  }
  if (out.length === 0) throw new Error('no records in ' + file);
  return out;
}

const idOf = (i) => String(i).padStart(8, '0');

function makeDoc(i, line) {
  let rec;
  try { rec = JSON.parse(line); } catch (e) {
    throw new Error('record ' + i + ': ' + e.message);
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec))
    throw new Error('line ' + i + ' is not a JSON object');
  const doc = { _id: idOf(i) };
  for (const k of Object.keys(rec)) {
    if (k.startsWith('_')) continue; // reserved by PouchDB
    doc[k] = rec[k];
  }
  return doc;
}

// Counting TCP proxy in front of 127.0.0.1:targetPort.
function startProxy(targetPort) {
  const stats = { bytes: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client); sockets.add(upstream);
    client.on('data', (d) => { stats.bytes += d.length; });
    upstream.on('data', (d) => { stats.bytes += d.length; });
    client.pipe(upstream);
    upstream.pipe(client);
    const done = () => { client.destroy(); upstream.destroy(); };
    client.on('error', done); upstream.on('error', done);
    client.on('close', () => { sockets.delete(client); upstream.end(); });
    upstream.on('close', () => { sockets.delete(upstream); client.end(); });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        stats,
        close: () => new Promise((res) => {
          for (const s of sockets) s.destroy();
          server.close(() => res());
        }),
      });
    });
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const { PouchDB: BasePouch, expressPouchDB, memoryAdapter } =
    loadModules(opt.modules);
  log(`pouchdb ${BasePouch.version}, adapter ${opt.adapter}, ` +
      `scenario ${opt.scenario}, node ${process.version}`);
  // read and check the input before anything is started
  const lines = readInput(opt.input,
    opt.scenario === 'first' ? opt.limit :
    opt.scenario === 'change' ? opt.docs : 0);
  for (let i = 0; i < lines.length; i++) makeDoc(i, lines[i]);

  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pouchbench-'));
  const cleanup = { httpServer: null, proxy: null, dbs: [] };
  const removeTmp = () => {
    try { fs.rmSync(tmpRoot, { recursive: true, force: true }); } catch (e) {}
  };
  process.once('SIGINT', () => { removeTmp(); process.exit(130); });
  process.once('SIGTERM', () => { removeTmp(); process.exit(143); });

  let exitCode = 0;
  try {
    let ServerPouch, LocalPouch;
    if (opt.adapter === 'memory') {
      BasePouch.plugin(memoryAdapter());
      ServerPouch = BasePouch.defaults({ adapter: 'memory' });
      LocalPouch = BasePouch.defaults({ adapter: 'memory' });
    } else {
      fs.mkdirSync(path.join(tmpRoot, 'server'));
      fs.mkdirSync(path.join(tmpRoot, 'client'));
      ServerPouch = BasePouch.defaults({
        prefix: path.join(tmpRoot, 'server') + path.sep });
      LocalPouch = BasePouch.defaults({
        prefix: path.join(tmpRoot, 'client') + path.sep });
    }

    // express-pouchdb server on a free port, proxy in front of it.
    const app = expressPouchDB(ServerPouch, { mode: 'minimumForPouchDB' });
    const httpServer = await new Promise((resolve, reject) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    cleanup.httpServer = httpServer;
    const proxy = await startProxy(httpServer.address().port);
    cleanup.proxy = proxy;
    const url = `http://127.0.0.1:${proxy.port}/db`;
    log(`server on ${httpServer.address().port}, proxy on ${proxy.port}`);

    // create the server db (not timed, not counted)
    const setup = new BasePouch(url);
    await setup.info();

    const openLocal = (name) => {
      const db = new LocalPouch(name);
      cleanup.dbs.push(db);
      return db;
    };
    const load = async (db, first, count, lines) => {
      const B = 1000;
      for (let i = 0; i < count; i += B) {
        const docs = [];
        for (let j = i; j < Math.min(count, i + B); j++)
          docs.push(makeDoc(first + j, lines[(first + j) % lines.length]));
        const res = await db.bulkDocs(docs);
        for (const r of res)
          if (r.error) throw new Error(`bulkDocs ${r.id}: ${r.message || r.name}`);
      }
    };
    const checkResult = (res) => {
      if (!res || res.ok !== true || res.doc_write_failures > 0 ||
          (res.errors && res.errors.length))
        throw new Error('replication not ok: ' + JSON.stringify(res));
      return res;
    };
    const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

    let result;
    if (opt.scenario === 'first') {
      const jsonBytes = lines.reduce((s, l) => s + Buffer.byteLength(l), 0);
      const n = lines.length;
      const local = openLocal('device');
      log(`loading ${n} docs locally`);
      await load(local, 0, n, lines);
      log('replicating');
      proxy.stats.bytes = 0;
      const t0 = now();
      const res = checkResult(await BasePouch.replicate(local, url));
      const ms = now() - t0;
      const wire = proxy.stats.bytes;
      if (res.docs_written !== n)
        throw new Error(`docs_written ${res.docs_written} != ${n}`);
      const info = await setup.info();
      if (info.doc_count !== n)
        throw new Error(`server doc_count ${info.doc_count} != ${n}`);
      result = {
        scenario: 'first', docs: n, seconds: round(ms / 1000, 2),
        docs_per_s: Math.round(n / (ms / 1000)), wire_bytes: wire,
        json_bytes: jsonBytes, wire_per_json: round(wire / jsonBytes, 3),
        adapter: opt.adapter,
      };
    } else if (opt.scenario === 'change') {
      const n = lines.length;
      const local = openLocal('device');
      log(`loading ${n} docs locally, first push (not timed)`);
      await load(local, 0, n, lines);
      checkResult(await BasePouch.replicate(local, url));
      const msList = [], bytesList = [];
      for (let k = 0; k < opt.repeats; k++) {
        const id = idOf((k * 7919 + 1) % n);
        const doc = await local.get(id);
        doc.status = 'updated-' + (k + 1);
        doc.updated_at = new Date(Date.UTC(2026, 10, 24, 12, k)).toISOString();
        await local.put(doc);
        proxy.stats.bytes = 0;
        const t0 = now();
        const res = checkResult(await BasePouch.replicate(local, url));
        const ms = now() - t0;
        const bytes = proxy.stats.bytes;
        if (res.docs_written !== 1)
          throw new Error(`change ${k}: docs_written ${res.docs_written} != 1`);
        msList.push(round(ms, 1));
        bytesList.push(bytes);
        log(`change ${k + 1}: ${id} ${round(ms, 1)} ms ${bytes} bytes`);
      }
      const remoteDoc = await setup.get(idOf(((opt.repeats - 1) * 7919 + 1) % n));
      if (remoteDoc.status !== 'updated-' + opt.repeats)
        throw new Error('last change not on the server');
      result = {
        scenario: 'change', docs: n, ms: msList, median_ms: median(msList),
        bytes: bytesList, median_bytes: median(bytesList), adapter: opt.adapter,
      };
    } else {
      const N = opt.devices, per = opt.per;
      if (N * per > lines.length)
        log(`note: ${N * per} docs from ${lines.length} lines (wrapping)`);
      const devices = [];
      log(`loading ${N} devices x ${per} docs`);
      for (let d = 0; d < N; d++) {
        const db = openLocal('device' + d);
        await load(db, d * per, per, lines);
        devices.push(db);
      }
      log('replicating all devices at once');
      proxy.stats.bytes = 0;
      let errors = 0;
      const t0 = now();
      await Promise.all(devices.map((db, d) =>
        BasePouch.replicate(db, url).then(checkResult).then((res) => {
          if (res.docs_written !== per)
            throw new Error(`docs_written ${res.docs_written} != ${per}`);
        }).catch((e) => {
          errors++;
          log(`device ${d} failed: ${e && (e.stack || e.message || e)}`);
        })));
      const ms = now() - t0;
      const wire = proxy.stats.bytes;
      const info = await setup.info();
      result = {
        scenario: 'many', devices: N, per, seconds: round(ms / 1000, 2),
        errors, server_docs: info.doc_count, wire_bytes: wire,
        adapter: opt.adapter,
      };
      if (errors > 0 || info.doc_count !== N * per) {
        log(`FAIL: errors ${errors}, server_docs ${info.doc_count} != ${N * per}`);
        exitCode = 1;
      }
    }
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    for (const db of cleanup.dbs) {
      try { await db.close(); } catch (e) {}
    }
    if (cleanup.proxy) await cleanup.proxy.close();
    if (cleanup.httpServer) {
      cleanup.httpServer.closeAllConnections();
      await new Promise((r) => cleanup.httpServer.close(() => r()));
    }
    removeTmp();
  }
  return exitCode;
}

main().then((code) => {
  process.exitCode = code;
}, (err) => {
  log('error: ' + (err && (err.stack || err.message || err)));
  process.exitCode = 1;
});
