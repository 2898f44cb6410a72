#!/usr/bin/env python3
"""Writes a schemathesis.toml that points generated requests at real records.

Usage: schemathesis-ids.py SPEC BASE_URL TOKEN SPARE_TOKEN_ID SPEC_OUT > schemathesis.toml

After `connect seed demo`, an id made up by Schemathesis matches no record, so most operations on
`/things/{id}` would only ever be answered 404. This reads the ids of the demo data through the
API (the admin's token sees everything) and fixes the path parameters of each operation to them:
`{id}` on `/api/v1/<list>/{id}…` to one of the ids of `GET /api/v1/<list>` (another for each
operation), a nested `{child}` on `/api/v1/<list>/{id}/<sub>/{child}` to a child of a parent that
has one. Body fields naming a record (`organisation_id`, `person_id`, …) are bound to the same ids
with probability 0.9, so made-up ids are still tried there.
Path parameters with secrets sent by e-mail (`{token}`, `{feed_token}`) are left generated.

SPEC_OUT gets a copy of the spec whose examples name real records: every id in an example under a
field naming a record (`"organisation_id": "01937c4e-…"`) is replaced by the id of a demo record
of that kind (a company for `organisation_id`, a trial-site hospital for `site_id`), so that the
examples phase can check the examples are accepted.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request

spec_path, base, token, spare_token_id, spec_out = sys.argv[1:6]
spec = json.load(open(spec_path))
PREFIX = "/api/v1/"
PROBABILITY = 0.9


def get(path):
    req = urllib.request.Request(
        base + path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)
    except (urllib.error.HTTPError, ValueError):
        return None


def items(path):
    body = get(path)
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return body["items"]
    if isinstance(body, list):
        return body
    return []


def key_of(item, param):
    """The value of a record for a path parameter: its field of that name, or with `s_at` (an
    occurrence's `{start}` is its `starts_at`), else its id."""
    if not isinstance(item, dict):
        return None
    for k in (param, f"{param}s_at", "id"):
        if isinstance(item.get(k), (str, int)):
            return item[k]
    return None


lists = {}
versions = {}  # id -> version, for the `If-Match` of PATCH and DELETE


def remember(found):
    for i in found:
        if isinstance(i, dict) and isinstance(i.get("id"), str) and isinstance(i.get("version"), int):
            versions[i["id"]] = i["version"]
    return found


def ids(collection):
    if collection not in lists:
        if collection == "api-tokens":
            lists[collection] = [spare_token_id]
        else:
            found = remember(items(f"{PREFIX}{collection}?limit=200"))
            lists[collection] = [v for v in (key_of(i, "id") for i in found) if v is not None]
    return lists[collection]


def toml_str(v):
    return json.dumps(v)


out = []
dictionaries = {}
operations = []
for path in spec["paths"]:
    if not path.startswith(PREFIX) or "{" not in path:
        continue
    parts = path[len(PREFIX) :].split("/")
    collection = parts[0]
    if not parts[1:] or parts[1] != "{id}" and not parts[1].startswith("{id}"):
        continue  # {token} paths: secrets that reach people by e-mail only
    parents = ids(collection)
    if not parents:
        continue
    if collection not in dictionaries:
        dictionaries[collection] = parents
    child = next((p for p in parts[2:] if p.startswith("{")), None)
    if child is None:
        # One record an operation, a different one for each (a dictionary bound to a path
        # parameter trips Schemathesis 4.32.5 on the `$ref`'d `Id` schema).
        operations.append((path, {"path.id": parents[len(operations) % len(parents)]}))
        continue
    sub = "/".join(parts[2 : parts.index(child)])
    name = child.strip("{}")
    for parent in parents:
        children = remember(items(f"{PREFIX}{collection}/{parent}/{sub}"))
        values = [v for v in (key_of(i, name) for i in children) if v is not None]
        if values:
            operations.append((path, {"path.id": parent, f"path.{name}": values[0]}))
            break

out.append("[dictionaries]")
for name, values in dictionaries.items():
    out.append(f"{toml_str(name)} = {{ values = {json.dumps(values)} }}")
# Fields naming a record, wherever they appear in a body or a query.
fields = {
    "organisation_id": "organisations",
    "person_id": "people",
    "drug_id": "drugs",
    "agreement_id": "agreements",
    "body_id": "bodies",
    "meeting_id": "meetings",
    "decision_id": "decisions",
    "cohort_id": "cohorts",
    "user_id": "users",
}
out.append("")
out.append("[parameters]")
for field, collection in fields.items():
    if collection in dictionaries:
        out.append(
            f'"body.{field}" = {{ dictionary = {toml_str(collection)}, probability = {PROBABILITY} }}'
        )
# PATCH and DELETE need the record's current version as `If-Match` (a made-up one is 412): the
# version the record had before the run (a generated edit that succeeds makes it stale).
for path, params in list(operations):
    record = params.get(next((k for k in params if k != "path.id"), "path.id"))
    if isinstance(record, str) and record in versions:
        for method in ("patch", "delete"):
            if method in spec["paths"][path]:
                out.append("")
                out.append("[[operations]]")
                out.append(f"include-name = {toml_str(method.upper() + ' ' + path)}")
                out.append(f'parameters = {{ "header.If-Match" = {toml_str(chr(34) + str(versions[record]) + chr(34))} }}')
for path, params in operations:
    regex = "^" + path.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.") + "$"
    out.append("")
    out.append("[[operations]]")
    out.append(f"include-path-regex = {toml_str(regex)}")
    rendered = []
    for k, v in params.items():
        if isinstance(v, dict):
            rendered.append(f"{toml_str(k)} = {{ dictionary = {toml_str(v['dictionary'])}, probability = {PROBABILITY} }}")
        else:
            rendered.append(f"{toml_str(k)} = {toml_str(v)}")
    out.append(f"parameters = {{ {', '.join(rendered)} }}")
print("\n".join(out))


def first(collection, keep=lambda item: True):
    found = [i for i in items(f"{PREFIX}{collection}?limit=200") if isinstance(i, dict) and keep(i)]
    return found[0]["id"] if found else None


companies = lambda o: o.get("kind") in ("pharma", "biotech") and o.get("archived_at") is None
real = {
    "organisation_id": first("organisations", companies),
    "site_id": first("organisations", lambda o: o.get("trial_site") is True),
    "person_id": first("people"),
    "owner_person_id": first("people"),
    "drug_id": first("drugs"),
    "agreement_id": first("agreements", lambda a: a.get("status") == "active"),
    "subject_agreement_id": first("agreements"),
    "body_id": first("bodies"),
    "meeting_id": first("meetings"),
    "decision_id": first("decisions"),
    "cohort_id": first("cohorts"),
    "user_id": first("users"),
}


def with_real_ids(v):
    if isinstance(v, dict):
        return {
            k: (real[k] if k in real and real[k] and isinstance(x, str) and x.startswith("01937c4e-") else with_real_ids(x))
            for k, x in v.items()
        }
    if isinstance(v, list):
        return [with_real_ids(x) for x in v]
    return v


# Required query parameters naming a record (`person_id` of `/meetings/free-slots`).
for path, item in spec["paths"].items():
    for method, op in item.items():
        if not isinstance(op, dict):
            continue
        fixed = {
            f"query.{p['name']}": real[p["name"]]
            for p in op.get("parameters", [])
            if p.get("in") == "query" and p.get("required") and real.get(p.get("name"))
        }
        if fixed:
            rendered = ", ".join(f"{toml_str(k)} = {toml_str(v)}" for k, v in fixed.items())
            print(f"\n[[operations]]\ninclude-name = {toml_str(method.upper() + ' ' + path)}\nparameters = {{ {rendered} }}")

with open(spec_out, "w") as f:
    json.dump(with_real_ids(spec), f)
