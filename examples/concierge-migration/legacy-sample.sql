-- Two properties (hotels) and a few dirty rows: a guest without a last name (its transform fails), a
-- guest introduced by that guest, a preference for a guest that does not exist, and a vendor without a
-- name that the target API refuses.
INSERT INTO gc_property VALUES (1, 'Harbour House', 'Europe/Dublin', 'IE'), (2, 'Ashgrove Hotel', NULL, 'IE');
INSERT INTO gc_guest (property_id, guest_no, first_nm, last_nm, vip_flg, referred_by_no)
  SELECT 1, g, 'Guest' || g, CASE WHEN g = 13 THEN NULL ELSE 'Family' || g END, CASE WHEN g % 10 = 0 THEN 'Y' ELSE 'N' END,
         CASE WHEN g = 14 THEN 13 WHEN g > 1 AND g % 5 = 0 THEN 1 END
  FROM generate_series(1, 40) g;
INSERT INTO gc_guest (property_id, guest_no, first_nm, last_nm) SELECT 2, g, 'Other' || g, 'Guest' FROM generate_series(1, 8) g;
INSERT INTO gc_guest_pref SELECT 1, g, p, CASE p WHEN 1 THEN 'feather-free pillows' ELSE 'late checkout' END FROM generate_series(1, 40) g, generate_series(1, 2) p;
INSERT INTO gc_guest_pref VALUES (1, 99, 1, 'preference of a guest that was deleted');
INSERT INTO gc_vendor VALUES
  (1, 'TAXI', 'City Cabs', 'Mary Byrne', '+353 1 555 0101', 'Desk', '+353 1 555 0100'),
  (1, 'FLOR', 'Bloom & Wild', 'Sean Kelly', '+353 1 555 0202', NULL, NULL),
  (1, 'LIMO', '', NULL, NULL, NULL, NULL),
  (2, 'TAXI', 'Airport Cars', 'Ann Walsh', '+353 1 555 0303', NULL, NULL);
INSERT INTO gc_task SELECT 1, t, 1 + t % 40, CASE WHEN t % 3 = 0 THEN 'TAXI' WHEN t % 3 = 1 THEN 'FLOR' END,
  (ARRAY['O', 'D', 'X'])[1 + t % 3], timestamptz '2026-11-01 09:00+00' + t * interval '1 hour', 'task ' || t
  FROM generate_series(1, 60) t;
-- A task for the nameless vendor: staged, then left out of the load once the target refuses its vendor.
INSERT INTO gc_task VALUES (1, 61, 1, 'LIMO', 'O', timestamptz '2026-11-04 09:00+00', 'limousine to the airport');
