DROP TABLE events;
--bun:split
DROP TABLE preferences;
--bun:split
DROP TABLE requests;
--bun:split
DROP TABLE children;
--bun:split
DROP TABLE families;
