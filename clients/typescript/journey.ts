// The main journey through TypeScript types generated from openapi/openapi.json with
// openapi-typescript (`schema.d.ts`) and the typed fetch client openapi-fetch: `tsc --strict`
// checks every path, parameter, body and answer below against the spec, so a spec change that
// breaks callers fails to compile. Compiled, it also runs:
//
//   node journey.js http://127.0.0.1:8080 admin@example.org 'the admin password'
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Problem = components["schemas"]["Problem"];

function must<T>(what: string, r: { data?: T; error?: Problem | unknown; response: Response }): T {
  if (r.data === undefined) {
    throw new Error(`${what}: ${r.response.status} ${JSON.stringify(r.error)}`);
  }
  console.log(`ok  ${what}`);
  return r.data;
}

async function main(base: string, email: string, password: string): Promise<void> {
  const run = Math.random().toString(16).slice(2, 10);
  const today = new Date().toISOString().slice(0, 10);
  const anonymous = createClient<paths>({ baseUrl: base });
  const pair = must(
    "log in",
    await anonymous.POST("/api/v1/auth/login", { body: { email, password } }),
  );
  const api = createClient<paths>({
    baseUrl: base,
    headers: { Authorization: `Bearer ${pair.access_token}` },
  });

  const org = must(
    "create an organisation",
    await api.POST("/api/v1/organisations", {
      params: { header: { "Idempotency-Key": `journey-${run}` } },
      body: { name: `Nordlys Onkologi ${run} AS`, kind: "pharma", sector: "private" },
    }),
  );
  must(
    "make it a partner",
    await api.POST("/api/v1/organisations/{id}/membership-changes", {
      params: { path: { id: org.id } },
      body: { to_status: "partner", effective_date: "2021-01-01", reason: "Founding partner" },
    }),
  );
  const drug = must(
    "register a drug",
    await api.POST("/api/v1/drugs", {
      body: {
        organisation_id: org.id,
        generic_name: `nordlysinib-${run}`,
        targets: ["KRAS G12C"],
        status: "available",
        available_from: "2026-01-01",
      },
    }),
  );
  const agreement = must(
    "draft an agreement",
    await api.POST("/api/v1/agreements", {
      body: {
        organisation_id: org.id,
        reference: `NORDLYS-${run}`,
        title: "Nordlysinib for IMPRESS-Norway",
        effective_from: "2026-01-01",
        effective_to: "2030-12-31",
        patient_cap: 10,
      },
    }),
  );
  const id = { path: { id: agreement.id } };
  must(
    "cover the drug",
    await api.POST("/api/v1/agreements/{id}/drugs", {
      params: id,
      body: { drug_id: drug.id, patient_cap: 6 },
    }),
  );
  must("submit it", await api.POST("/api/v1/agreements/{id}/submit", { params: id, body: { reason: "Ready" } }));
  const active = must(
    "activate it",
    await api.POST("/api/v1/agreements/{id}/activate", { params: id, body: { reason: "Approved" } }),
  );
  if (active.status !== "active") throw new Error(`agreement ${active.status}`);
  const site = must(
    "register a trial site",
    await api.POST("/api/v1/organisations", {
      body: {
        name: `Nordlandssykehuset ${run} HF`,
        kind: "hospital",
        sector: "public",
        health_region: "north",
        trial_site: true,
      },
    }),
  );
  const cohort = must(
    "open a cohort",
    await api.POST("/api/v1/cohorts", {
      body: {
        agreement_id: agreement.id,
        drug_id: drug.id,
        tumour_type: "pancreatic cancer",
        alteration: "KRAS G12C",
      },
    }),
  );
  must(
    "allocate a patient",
    await api.POST("/api/v1/agreements/{id}/allocations", {
      params: id,
      body: {
        trial_code: `NORD-${run}`,
        drug_id: drug.id,
        site_id: site.id,
        cohort_id: cohort.id,
        started_on: today,
      },
    }),
  );
  const body = must(
    "create a working group",
    await api.POST("/api/v1/bodies", { body: { kind: "working_group", name: `Journey WG ${run}` } }),
  );
  const meeting = must(
    "schedule a meeting",
    await api.POST("/api/v1/meetings", {
      body: {
        body_id: body.id,
        title: "Nordlys pilot review",
        start: "2027-03-29T14:00:00",
        end: "2027-03-29T15:00:00",
        time_zone: "Europe/Oslo",
      },
    }),
  );
  if (meeting.starts_at !== "2027-03-29T12:00:00Z") throw new Error(`starts ${meeting.starts_at}`);
  const ics = must(
    "read its .ics",
    await api.GET("/api/v1/meetings/{id}.ics", {
      params: { path: { id: meeting.id } },
      parseAs: "text",
    }),
  );
  if (!ics.includes("BEGIN:VCALENDAR")) throw new Error("no calendar");
  console.log("the journey works through the generated TypeScript types");
}

const [base, email, password] = process.argv.slice(2);
main(base, email, password).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
