package catalog

// NotClosed is the SQL condition that the location whose id is the column
// idColumn has no closure in force (package crisis declares them). A closed
// location keeps its free-place numbers for when it reopens, but no reader
// shows or offers them meanwhile: search, the regional availability, offers,
// placements and allocation rounds all add this condition.
func NotClosed(idColumn string) string {
	return "NOT EXISTS (SELECT 1 FROM closures AS cl WHERE cl.location_id = " + idColumn + " AND cl.ended_at IS NULL)"
}
