-- Two properties (hotels) and a few dirty rows: a guest without a last name (its transform fails), a
-- guest introduced by that guest, a preference for a guest that does not exist, a vendor without a
-- name that the target API refuses, a hotel without an address (nothing to geocode), a stay that
-- departs before it arrives, a loyalty member with an unknown tier code, and a note about the guest
-- without a last name. Hotel 1 has every case; hotel 2 is small and clean but for its address.
INSERT INTO gc_property (property_id, prop_name, tz, country_cd, addr_line, city, postal_cd) VALUES
  (1, 'Harbour House', 'Europe/Dublin', 'IE', '1 Sir John Rogerson''s Quay', 'Dublin', 'D02 XY45'),
  (2, 'Ashgrove Hotel', NULL, 'IE', NULL, NULL, NULL);
INSERT INTO gc_guest (property_id, guest_no, first_nm, last_nm, vip_flg, referred_by_no)
  SELECT 1, g, 'Guest' || g, CASE WHEN g = 13 THEN NULL ELSE 'Family' || g END, CASE WHEN g % 10 = 0 THEN 'Y' ELSE 'N' END,
         CASE WHEN g = 14 THEN 13 WHEN g > 1 AND g % 5 = 0 THEN 1 END
  FROM generate_series(1, 40) g;
INSERT INTO gc_guest (property_id, guest_no, first_nm, last_nm) SELECT 2, g, 'Other' || g, 'Guest' FROM generate_series(1, 8) g;
INSERT INTO gc_guest_pref SELECT 1, g, p, CASE p WHEN 1 THEN 'feather-free pillows' ELSE 'late checkout' END FROM generate_series(1, 40) g, generate_series(1, 2) p;
INSERT INTO gc_guest_pref VALUES (1, 99, 1, 'preference of a guest that was deleted');
-- Contacts: TAXI has two, FLOR one (the second pair empty), LIMO none: three contact records at hotel 1.
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

-- Ten rooms at hotel 1: 101-104 and 201-204 typed S, D, T, Q; a penthouse suite; room 105 from before the codes.
INSERT INTO gc_room SELECT 1, (f * 100 + r)::text, f, (ARRAY['S', 'D', 'T', 'Q'])[r] FROM generate_series(1, 2) f, generate_series(1, 4) r;
INSERT INTO gc_room VALUES (1, 'PH1', 3, 'SU'), (1, '105', 1, NULL), (2, '1', 1, 'D'), (2, '2', 1, 'D'), (2, '3', 1, 'T');
-- Staff: a manager; concierges and front office under her; housekeeping under front office (three levels).
INSERT INTO gc_staff VALUES
  (1, 1, 'Aoife', 'Brennan', 'MG', NULL), (1, 2, 'Ciaran', 'Doyle', 'CON', 1), (1, 3, 'Niamh', 'Farrell', 'FO', 1),
  (1, 4, 'Declan', 'Hughes', 'HK', 3), (1, 5, 'Orla', 'Keane', 'CON', 2),
  (2, 1, 'Sinead', 'Walsh', 'MG', NULL), (2, 2, 'Tom', 'Ryan', 'FO', 1);
-- Stays 1-20 at hotel 1: guests 1-10 two each (stays s and s + 10), 1 to 4 nights; 7 and 14 cancelled, 17-18
-- in house, 19-20 reserved without a room. Guest 2: stays 2 (3 nights, out 2026-01-26) and 12 (1 night, out
-- 2026-04-24). Stay 21 departs before it arrives.
INSERT INTO gc_stay SELECT 1, s, 1 + (s - 1) % 10,
    CASE WHEN s <= 18 THEN (ARRAY['101', '102', '103', '104', '201', '202', '203', '204', 'PH1', '105'])[1 + s % 10] END,
    date '2026-01-05' + s * 9, date '2026-01-05' + s * 9 + 1 + s % 4,
    CASE WHEN s % 7 = 0 THEN 'C' WHEN s <= 16 THEN 'O' WHEN s <= 18 THEN 'I' ELSE 'R' END
  FROM generate_series(1, 20) s;
INSERT INTO gc_stay VALUES (1, 21, 3, '101', date '2026-08-10', date '2026-08-07', 'O'),
  (2, 1, 1, '1', date '2026-03-01', date '2026-03-04', 'O'), (2, 2, 2, NULL, date '2026-12-20', date '2026-12-27', 'R');
-- Loyalty members: every fourth guest of hotel 1, tiers in turn; guest 36's tier code is not one of the four.
INSERT INTO gc_loyalty SELECT 1, g, CASE WHEN g = 36 THEN 'X' ELSE (ARRAY['B', 'S', 'G', 'P'])[1 + (g / 4) % 4] END, g * 150, date '2020-01-01' + g * 30
  FROM generate_series(4, 40, 4) g;
INSERT INTO gc_loyalty VALUES (2, 3, 'G', 1200, date '2024-06-01');
-- Notes: by concierges, one without an author (imported), one by a staff member deleted since (emp 9),
-- and one about guest 13, who is never staged.
INSERT INTO gc_guest_note VALUES
  (1, 1, 1, 2, timestamptz '2026-02-01 10:00+00', 'prefers a table by the window'),
  (1, 2, 1, 5, timestamptz '2026-02-03 18:30+00', 'allergic to shellfish'),
  (1, 3, 2, NULL, timestamptz '2019-05-20 00:00+00', 'imported from the old front desk system'),
  (1, 4, 3, 9, timestamptz '2025-11-11 08:15+00', 'asked for a quiet room'),
  (1, 5, 5, 2, timestamptz '2026-03-12 09:00+00', 'anniversary on 12 March'),
  (1, 6, 13, 5, timestamptz '2026-03-14 12:00+00', 'booked the spa for Saturday'),
  (2, 1, 4, 2, timestamptz '2026-03-02 07:00+00', 'early breakfast');
