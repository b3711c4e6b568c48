// Package connector is the home of Eddy's built-in connectors, one package
// each, registered with exec/connector in their init functions; import
// table/connector/all to link them all. Connectors depend only on
// exec/connector, catalog/types and Arrow.
//
// Built-in connectors and their options (Flink's names; see each package):
//
//	datagen (source)
//	  rows-per-second     Long, default 10000
//	  number-of-rows      Long; unbounded when unset
//	  seed                Long; Eddy extension for reproducible random data
//	  fields.#.kind       random | sequence, default random
//	  fields.#.start      Long (sequence)
//	  fields.#.end        Long (sequence)
//	  fields.#.min        numeric random lower bound
//	  fields.#.max        numeric random upper bound
//	  fields.#.max-past   Duration (random TIMESTAMP/TIMESTAMP_LTZ/DATE)
//	  fields.#.length     Int, default 100 (random strings and bytes)
//	  fields.#.null-rate  Double, default 0
//
//	filesystem (source and sink)
//	  path                           required; file or directory
//	  format                         required; csv | json
//	  sink.rolling-policy.file-size  MemorySize, default 128mb
//	  csv.field-delimiter            default ','
//	  csv.quote-character            default '"'
//	  csv.disable-quote-character    Boolean, default false
//	  csv.allow-comments             Boolean, default false
//	  csv.ignore-parse-errors        Boolean, default false
//	  csv.null-literal               String; NULL is an empty field when unset
//	  json.fail-on-missing-field     Boolean, default false
//	  json.ignore-parse-errors       Boolean, default false
//	  json.timestamp-format.standard SQL | ISO-8601, default SQL
//
//	print (sink, accepts updates)
//	  print-identifier    String
//	  standard-error      Boolean, default false
//
//	blackhole (sink, accepts updates): no options
//
// Subpackages: format (value spellings shared by the text formats and
// print), format/csv and format/json (the file formats), connectortest (the
// conformance suite every connector's tests run).
package connector
