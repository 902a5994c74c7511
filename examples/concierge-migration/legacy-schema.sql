-- A GoConcierge-like legacy database: its own naming, composite keys, nullable references, contacts
-- denormalised into the vendor row, status codes. Data: legacy-sample.sql (small, with a few dirty
-- rows) or generate-legacy.ts (any size).
CREATE TABLE gc_property (
  property_id int PRIMARY KEY, prop_name text NOT NULL, tz text, country_cd char(2),
  -- The postal address, geocoded by the migration (dataset hotel_location); NULL when never entered.
  addr_line text, city text, postal_cd text
);
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
-- room_type_cd: S single, D double, T twin, Q queen, SU suite; NULL on rooms entered before the codes.
CREATE TABLE gc_room (
  property_id int NOT NULL REFERENCES gc_property, room_no text NOT NULL, floor_no int, room_type_cd varchar(2),
  PRIMARY KEY (property_id, room_no)
);
-- dept_cd: MG management, FO front office, CON concierge, HK housekeeping, FB food and beverage.
-- supervisor_emp_no is not a foreign key: the legacy system deleted staff rows without looking.
CREATE TABLE gc_staff (
  property_id int NOT NULL REFERENCES gc_property, emp_no int NOT NULL, first_nm text, last_nm text,
  dept_cd varchar(3) NOT NULL, supervisor_emp_no int,
  PRIMARY KEY (property_id, emp_no)
);
-- status_cd: R reserved, I in house, O checked out, C cancelled. room_no is NULL until a room is assigned.
CREATE TABLE gc_stay (
  property_id int NOT NULL, stay_id bigint NOT NULL, guest_no int NOT NULL, room_no text,
  arrival_dt date NOT NULL, departure_dt date NOT NULL, status_cd char(1) NOT NULL,
  PRIMARY KEY (property_id, stay_id)
);
-- One row per guest in the loyalty programme; tier_cd: B bronze, S silver, G gold, P platinum.
CREATE TABLE gc_loyalty (
  property_id int NOT NULL, guest_no int NOT NULL, tier_cd char(1) NOT NULL, points_qty int NOT NULL DEFAULT 0,
  enrolled_dt date,
  PRIMARY KEY (property_id, guest_no)
);
-- Notes a concierge keeps about a guest; author_emp_no is NULL for notes imported from an older system,
-- and may name a staff row deleted since.
CREATE TABLE gc_guest_note (
  property_id int NOT NULL, note_id bigint NOT NULL, guest_no int NOT NULL, author_emp_no int,
  note_ts timestamptz NOT NULL, note_txt text NOT NULL,
  PRIMARY KEY (property_id, note_id)
);
