"""For councillors: ward and priority neighbourhood pages, the wards table and choropleth, and the printable map."""
