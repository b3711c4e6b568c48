// Package planner binds parsed SQL (package sql) against the catalog into
// typed logical plans: immutable nodes (Scan, Project, Filter, Calc,
// Values, UnionAll, WatermarkAssigner, Sink, Collect), one file each, whose
// expressions are exec/expr trees resolved through the function registry.
// Every node knows its schema, its changelog mode and whether it is
// bounded. Time attributes are marks on column types: a table's WATERMARK
// declaration marks its rowtime column and PROCTIME() computed columns are
// proctime attributes, so the marks follow columns through projections.
//
// Errors name the line and column of the offending text in the script.
package planner
