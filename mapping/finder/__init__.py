"""For residents: the finder (search by name, postcode or near me, as a map and a list that works without JavaScript), place pages and the report-a-problem form."""
