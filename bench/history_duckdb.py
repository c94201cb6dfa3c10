"""The DuckDB side of the event history benchmark (run by scripts/bench-history).

`cairn bench --only history --history-files DIR` stores synthetic events in Cairn, times
LookupEvents over HTTP, and writes the same events as CloudTrail gzip log files into DIR, with
probes.json: every lookup it made, its latencies and the first page it got. This script makes the
same lookups with DuckDB over those files and prints both side by side:

- "DuckDB table": the files loaded once into a DuckDB table (load time reported), the lookup
  attributes derived as columns the way Cairn derives them, then each lookup as
  `... WHERE <attribute> ORDER BY event_time DESC LIMIT 50`. DuckDB's best case.
- "DuckDB files": one lookup per attribute kind straight over the gzip files, as an ad hoc
  query would run.

Each first page is checked against Cairn's (ties in event time at the page's end aside, since
the files carry no sequence numbers), so the comparison is of equal answers.
"""

import json
import os
import statistics
import sys
import time

import duckdb

DIRECT_KINDS = int(os.environ.get("DIRECT_KINDS", "8"))

# Cairn's LookupAttribute -> SQL predicate over the loaded table ($1 is the value).
PREDICATES = {
    "EventId": "event_id = $1",
    "EventName": "event_name = $1",
    "EventSource": "event_source = $1",
    "ReadOnly": "read_only = $1",
    "AccessKeyId": "access_key_id = $1",
    "Username": "username = $1",
    "ResourceType": "list_contains(resource_types, $1)",
    "ResourceName": "(list_contains(resource_names, $1) OR list_contains(resource_arns, $1))",
}

# One record (JSON `r`) -> the lookup columns, as crates/model/src/record.rs derives them.
COLUMNS = """
    r->>'eventID' AS event_id,
    CAST(r->>'eventTime' AS TIMESTAMP) AS event_time,
    coalesce(r->>'recipientAccountId', r->'userIdentity'->>'accountId') AS account_id,
    r->>'awsRegion' AS region,
    coalesce(nullif(r->>'eventCategory', ''), 'Management') AS category,
    r->>'eventName' AS event_name,
    r->>'eventSource' AS event_source,
    r->>'readOnly' AS read_only,
    r->'userIdentity'->>'accessKeyId' AS access_key_id,
    coalesce(
        nullif(r->'userIdentity'->>'userName', ''),
        CASE r->'userIdentity'->>'type'
            WHEN 'AssumedRole' THEN regexp_extract(r->'userIdentity'->>'arn', '[^/]+$')
            WHEN 'FederatedUser' THEN regexp_extract(r->'userIdentity'->>'arn', '[^/]+$')
            WHEN 'Root' THEN 'root'
            WHEN 'AWSService' THEN r->'userIdentity'->>'invokedBy'
            ELSE r->'userIdentity'->>'principalId'
        END) AS username,
    coalesce(json_extract_string(r, '$.resources[*].type'), []) AS resource_types,
    coalesce(json_extract_string(r, '$.resources[*].ARN'), []) AS resource_arns,
    list_transform(coalesce(json_extract_string(r, '$.resources[*].ARN'), []), lambda a: arn_name(a))
        AS resource_names,
    r AS record
"""

ARN_NAME = """
CREATE MACRO arn_name(a) AS (
    CASE
        WHEN a LIKE 'arn:%:s3:::%' THEN split_part(a, ':::', 2)
        WHEN contains(array_to_string(string_split(a, ':')[6:], ':'), '/')
            THEN regexp_extract(array_to_string(string_split(a, ':')[6:], ':'), '/(.*)$', 1)
        ELSE string_split(a, ':')[-1]
    END)
"""


def pct(values, p):
    s = sorted(values)
    return s[round((len(s) - 1) * p)] if s else float("nan")


def main(directory):
    spec = json.load(open(f"{directory}/probes.json"))
    files = f"{directory}/*.json.gz"
    # On disk, so a table larger than memory spills instead of failing.
    con = duckdb.connect(f"{directory}/events.duckdb")
    con.execute("SET threads TO 2")
    con.execute(ARN_NAME)
    source = f"""(SELECT unnest(json_extract(json, '$.Records[*]')) AS r
                  FROM read_json_objects('{files}', format = 'auto', maximum_object_size = 268435456))"""

    t = time.perf_counter()
    con.execute(f"CREATE TABLE events AS SELECT {COLUMNS} FROM {source}")
    load_s = time.perf_counter() - t
    (n,) = con.execute("SELECT count(*) FROM events").fetchone()
    print(f"DuckDB {duckdb.__version__}: loaded {n} events from the gzip log files in {load_s:.1f} s "
          f"({n / load_s:,.0f} events/s)")

    scope = "account_id = $2 AND region = $3 AND category = 'Management'"
    by_kind = {}
    agree = disagree = self_audit = 0
    for p in spec["probes"]:
        kind, value = p["attribute"], p["value"]
        sql = (f"SELECT event_id, epoch_ms(event_time) FROM events WHERE {PREDICATES[kind]} AND {scope} "
               f"ORDER BY event_time DESC LIMIT 50")
        args = [value, spec["account"], spec["region"]]
        timings = []
        rows = None
        for _ in range(1 + len(p["cairn_repeated_ms"])):
            t = time.perf_counter()
            rows = con.execute(sql, args).fetchall()
            timings.append((time.perf_counter() - t) * 1000)
        k = by_kind.setdefault(kind, {"first": [], "repeated": [], "cairn_first": [], "cairn_repeated": []})
        k["first"].append(timings[0])
        k["repeated"].extend(timings[1:])
        k["cairn_first"].append(p["cairn_first_ms"])
        k["cairn_repeated"].extend(p["cairn_repeated_ms"])
        # Same answer? Compare the events newer than the page's last second (ties there may be
        # broken differently).
        ours = p["first_page"]
        times = dict(con.execute(
            "SELECT event_id, epoch_ms(event_time) FROM events WHERE list_contains($1, event_id)",
            [ours]).fetchall())
        if len(rows) != len(ours):
            disagree += 1
            print(f"different page sizes for {kind}={value!r}: DuckDB {len(rows)}, Cairn {len(ours)}")
            continue
        if any(i not in times for i in ours):
            # Cairn records its own API calls: the benchmark's lookups are in its history (not
            # in the files) and rightly come first for EventName=LookupEvents and the like.
            self_audit += 1
            continue
        edge = min(t for _, t in rows)
        theirs = {i for i, t in rows if t > edge}
        mine = {i for i in ours if times.get(i, edge) > edge}
        if theirs == mine:
            agree += 1
        else:
            disagree += 1
            print(f"different first pages for {kind}={value!r}: only DuckDB {sorted(theirs - mine)[:3]}, "
                  f"only Cairn {sorted(mine - theirs)[:3]}")

    # Straight over the files: one lookup per kind (each reads every file; DIRECT_KINDS limits
    # how many kinds, as each such query takes minutes over millions of events).
    direct = {}
    for kind in list(by_kind)[:DIRECT_KINDS]:
        p = next(p for p in spec["probes"] if p["attribute"] == kind)
        t = time.perf_counter()
        con.execute(
            f"SELECT record FROM (SELECT {COLUMNS} FROM {source}) WHERE {PREDICATES[kind]} AND {scope} "
            f"ORDER BY event_time DESC LIMIT 50",
            [p["value"], spec["account"], spec["region"]]).fetchall()
        direct[kind] = (time.perf_counter() - t) * 1000

    print(f"\nfirst page of 50 by attribute over {spec['events']:,} events of one account and region (ms)")
    header = (f"{'attribute':<13} {'Cairn new p50':>13} {'p99':>8} {'repeated p50':>13} | "
              f"{'DuckDB table p50':>16} {'p99':>8} {'repeated p50':>13} | {'DuckDB files':>12} | "
              f"{'table/Cairn (p50)':>17}")
    print(header)
    print("-" * len(header))
    ratios = []
    for kind, k in sorted(by_kind.items()):
        cairn = statistics.median(k["cairn_first"])
        duck = statistics.median(k["first"])
        ratios.append(duck / cairn)
        print(f"{kind:<13} {cairn:>13.2f} {pct(k['cairn_first'], 0.99):>8.2f} "
              f"{statistics.median(k['cairn_repeated']):>13.2f} | {duck:>16.2f} {pct(k['first'], 0.99):>8.2f} "
              f"{statistics.median(k['repeated']):>13.2f} | {direct.get(kind, float('nan')):>12.0f} | {duck / cairn:>16.1f}x")
    print(f"\nsame first pages: {agree} of {agree + disagree}; {self_audit} more hold Cairn's records of the "
          f"benchmark's own calls, which the files do not have")
    print(f"DuckDB table is {statistics.median(ratios):.1f}x Cairn's first-page time (median over attribute kinds); "
          f"its one-time load took {load_s:.1f} s")
    for pg in spec.get("paging", []):
        if pg["events"] >= 5000:
            print(f"Cairn paging {pg['attribute']}={pg['value']!r}: {pg['events']} events, "
                  f"{pg['events'] / pg['seconds']:,.0f} events/s")
    return 0 if disagree == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
