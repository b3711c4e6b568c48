// Package model is the registry of model providers and their contract:
// what ML_PREDICT (exec.KindMLPredict) calls to run a catalog model's
// inference, as Flink's ModelProviderFactory and AsyncPredictFunction.
// A provider is named by a model's 'provider' option and declares its
// options once (connector.Option), so validation, defaults and error
// messages come from that declaration, as for connectors. The built-in
// providers live in table/model/*.
package model
