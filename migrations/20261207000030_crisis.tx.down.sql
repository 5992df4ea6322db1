DROP TABLE closure_families
--bun:split
DROP TABLE emergency_places
--bun:split
DROP TABLE closures
