DROP TABLE availability_events;
--bun:split
DROP TABLE availability;
--bun:split
DROP TABLE locations;
--bun:split
DROP TABLE providers;
