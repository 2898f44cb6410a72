-- A trial site's page of an agreement's patients (`?site_id=`) in the list's order: without it
-- the list walked the site's patients under every agreement, or the agreement's at every site.
CREATE INDEX allocations_agreement_site ON allocations (agreement_id, site_id, created_at, id);
