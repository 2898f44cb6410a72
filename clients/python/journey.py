"""The main journey through a client generated from openapi/openapi.json with
openapi-python-client (the package `connect_consortium_api_client`): log in, create an
organisation, make it a partner, register a drug, create and activate an agreement, allocate a
patient, schedule a meeting and read its .ics. Every body is built with the generated models'
`from_dict` and every answer parsed into the generated models, so a spec that no longer matches
what the service sends or takes fails here.

    python journey.py http://127.0.0.1:8080 admin@example.org 'the admin password'
"""

import datetime
import sys
import uuid

from connect_consortium_api_client import AuthenticatedClient, Client
from connect_consortium_api_client.api.agreements import (
    activate_agreement,
    add_covered_drug,
    create_agreement,
    submit_agreement,
)
from connect_consortium_api_client.api.allocations import create_allocation
from connect_consortium_api_client.api.auth import login
from connect_consortium_api_client.api.bodies import create_body
from connect_consortium_api_client.api.cohorts import create_cohort
from connect_consortium_api_client.api.drugs import create_drug
from connect_consortium_api_client.api.meetings import create_meeting, meeting_ics
from connect_consortium_api_client.api.organisations import (
    create_membership_change,
    create_organisation,
    get_organisation,
)
from connect_consortium_api_client import models


def ok(response, status, what):
    """The parsed answer, after checking the status (and that it parsed)."""
    if response.status_code != status or response.parsed is None:
        sys.exit(f"{what}: {response.status_code} {response.content[:500]!r}")
    if isinstance(response.parsed, models.Problem):
        sys.exit(f"{what}: a problem {response.parsed.to_dict()}")
    print(f"ok  {what}")
    return response.parsed


def main(base, email, password):
    run = uuid.uuid4().hex[:8]
    today = datetime.date.today().isoformat()
    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    pair = ok(
        login.sync_detailed(
            client=anonymous,
            body=models.LoginRequest.from_dict({"email": email, "password": password}),
        ),
        200,
        "log in",
    )
    client = AuthenticatedClient(
        base_url=base, token=pair.access_token, raise_on_unexpected_status=True
    )

    org = ok(
        create_organisation.sync_detailed(
            client=client,
            body=models.CreateOrganisation.from_dict(
                {
                    "name": f"Nordlys Onkologi {run} AS",
                    "kind": "pharma",
                    "sector": "private",
                    "website": "https://nordlys-onkologi.example",
                }
            ),
            idempotency_key=f"journey-{run}",
        ),
        201,
        "create an organisation",
    )
    ok(
        create_membership_change.sync_detailed(
            org.id,
            client=client,
            body=models.CreateMembershipChange.from_dict(
                {"to_status": "partner", "effective_date": "2021-01-01", "reason": "Founding partner"}
            ),
        ),
        201,
        "make it a partner",
    )
    org = ok(get_organisation.sync_detailed(org.id, client=client), 200, "read it back")
    assert org.membership_status == models.MembershipStatus.PARTNER, org.membership_status

    drug = ok(
        create_drug.sync_detailed(
            client=client,
            body=models.CreateDrug.from_dict(
                {
                    "organisation_id": str(org.id),
                    "generic_name": f"nordlysinib-{run}",
                    "atc_code": "L01EX99",
                    "targets": ["KRAS G12C"],
                    "status": "available",
                    "available_from": "2026-01-01",
                }
            ),
        ),
        201,
        "register a drug",
    )
    agreement = ok(
        create_agreement.sync_detailed(
            client=client,
            body=models.CreateAgreement.from_dict(
                {
                    "organisation_id": str(org.id),
                    "reference": f"NORDLYS-{run}",
                    "title": "Nordlysinib for IMPRESS-Norway",
                    "effective_from": "2026-01-01",
                    "effective_to": "2030-12-31",
                    "patient_cap": 10,
                }
            ),
        ),
        201,
        "draft an agreement",
    )
    ok(
        add_covered_drug.sync_detailed(
            agreement.id,
            client=client,
            body=models.AddCoveredDrug.from_dict({"drug_id": str(drug.id), "patient_cap": 6}),
        ),
        201,
        "cover the drug",
    )
    ok(
        submit_agreement.sync_detailed(
            agreement.id,
            client=client,
            body=models.TransitionRequest.from_dict({"reason": "Ready"}),
        ),
        200,
        "submit it",
    )
    agreement = ok(
        activate_agreement.sync_detailed(
            agreement.id,
            client=client,
            body=models.TransitionRequest.from_dict({"reason": "Approved"}),
        ),
        200,
        "activate it",
    )
    assert agreement.status == models.AgreementStatus.ACTIVE, agreement.status

    site = ok(
        create_organisation.sync_detailed(
            client=client,
            body=models.CreateOrganisation.from_dict(
                {
                    "name": f"Nordlandssykehuset {run} HF",
                    "kind": "hospital",
                    "sector": "public",
                    "health_region": "north",
                    "trial_site": True,
                }
            ),
        ),
        201,
        "register a trial site",
    )
    cohort = ok(
        create_cohort.sync_detailed(
            client=client,
            body=models.CreateCohort.from_dict(
                {
                    "agreement_id": str(agreement.id),
                    "drug_id": str(drug.id),
                    "tumour_type": "pancreatic cancer",
                    "alteration": "KRAS G12C",
                }
            ),
        ),
        201,
        "open a cohort",
    )
    patient = ok(
        create_allocation.sync_detailed(
            agreement.id,
            client=client,
            body=models.CreateAllocation.from_dict(
                {
                    "trial_code": f"NORD-{run}",
                    "drug_id": str(drug.id),
                    "site_id": str(site.id),
                    "cohort_id": str(cohort.id),
                    "started_on": today,
                }
            ),
        ),
        201,
        "allocate a patient",
    )
    assert patient.trial_code == f"NORD-{run}"

    board = ok(
        create_body.sync_detailed(
            client=client,
            body=models.CreateBody.from_dict({"kind": "working_group", "name": f"Journey WG {run}"}),
        ),
        201,
        "create a working group",
    )
    meeting = ok(
        create_meeting.sync_detailed(
            client=client,
            body=models.CreateMeeting.from_dict(
                {
                    "body_id": str(board.id),
                    "title": "Nordlys pilot review",
                    "start": "2027-03-29T14:00:00",
                    "end": "2027-03-29T15:00:00",
                    "time_zone": "Europe/Oslo",
                    "place": "Oslo Cancer Cluster",
                }
            ),
        ),
        201,
        "schedule a meeting",
    )
    assert meeting.starts_at == datetime.datetime(2027, 3, 29, 12, 0, tzinfo=datetime.timezone.utc)
    ics = meeting_ics.sync_detailed(meeting.id, client=client)
    if ics.status_code != 200 or b"BEGIN:VCALENDAR" not in ics.content:
        sys.exit(f"read its .ics: {ics.status_code} {ics.content[:200]!r}")
    print("ok  read its .ics")
    print("the journey works through the generated Python client")


if __name__ == "__main__":
    main(*sys.argv[1:4])
