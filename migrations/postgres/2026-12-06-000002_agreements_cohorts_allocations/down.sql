DROP TABLE scheduled_runs;
DROP TABLE allocation_funding;
DROP TABLE allocations;
DROP TABLE cohort_events;
DROP TABLE cohorts;
DROP TABLE agreement_events;
DROP TABLE agreement_drugs;
DROP TABLE agreements;
