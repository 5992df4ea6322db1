DROP TABLE round_children
--bun:split
DROP TABLE round_offers
--bun:split
DROP TABLE rounds
