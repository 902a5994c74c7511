-- A GoConcierge-like legacy database: its own naming, composite keys, nullable references, contacts
-- denormalised into the vendor row, status codes. Data: legacy-sample.sql (small, with a few dirty
-- rows) or generate-legacy.ts (any size).
CREATE TABLE gc_property (property_id int PRIMARY KEY, prop_name text NOT NULL, tz text, country_cd char(2));
CREATE TABLE gc_guest (
  property_id int NOT NULL REFERENCES gc_property, guest_no int NOT NULL,
  first_nm text, last_nm text, vip_flg char(1) NOT NULL DEFAULT 'N', referred_by_no int,
  PRIMARY KEY (property_id, guest_no)
);
CREATE TABLE gc_guest_pref (
  property_id int NOT NULL, guest_no int NOT NULL, pref_seq int NOT NULL, pref_txt text NOT NULL,
  PRIMARY KEY (property_id, guest_no, pref_seq)
);
CREATE TABLE gc_vendor (
  property_id int NOT NULL REFERENCES gc_property, vendor_cd text NOT NULL, vendor_nm text NOT NULL,
  contact1_nm text, contact1_phone text, contact2_nm text, contact2_phone text,
  PRIMARY KEY (property_id, vendor_cd)
);
CREATE TABLE gc_task (
  property_id int NOT NULL, task_id bigint NOT NULL, guest_no int, vendor_cd text,
  status_cd char(1) NOT NULL, due_ts timestamptz, note_txt text,
  PRIMARY KEY (property_id, task_id)
);
