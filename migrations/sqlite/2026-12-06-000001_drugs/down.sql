DROP TABLE drug_targets;
DROP TABLE drugs;
