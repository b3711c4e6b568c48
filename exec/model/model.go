package model

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// ProviderOption is the model option naming its provider.
const ProviderOption = "provider"

// Info describes a model to its provider: its qualified name, its input
// and output columns (and which of them are METADATA columns) and its
// options (the 'provider' one included).
type Info struct {
	Name           string            `json:"name"`
	Input          types.Schema      `json:"input"`
	Output         types.Schema      `json:"output"`
	InputMetadata  []string          `json:"inputMetadata,omitempty"`
	OutputMetadata []string          `json:"outputMetadata,omitempty"`
	Options        map[string]string `json:"options"`
}

// Provider creates the predictors of the models naming it.
type Provider interface {
	// Identifier is the value of the 'provider' option, e.g. "openai".
	Identifier() string
	// Options declares every option the provider accepts.
	Options() []connector.Option
	// Validate checks a model's schemas and options when a query uses
	// it, as Flink creates the model provider when it plans ML_PREDICT.
	// The options have passed ParseOptions.
	Validate(m Info, opts connector.Options) error
	// Open creates the predictor of one operator instance.
	Open(m Info, opts connector.Options) (Predictor, error)
}

// Predictor runs a model's inference, Flink's AsyncPredictFunction.
//
// Contract: Predict is called concurrently from up to the operator's
// max-concurrent-operations goroutines and must be safe for that. input
// holds one value per model input column as Arrow's GetOneForMarshal
// returns it (a string for STRING; nil for NULL). It returns the model's
// output rows for the input, each with one value per output column: a
// string for STRING, []float32 for ARRAY<FLOAT>, []float64 for
// ARRAY<DOUBLE>, map[string][]string for MAP<STRING, ARRAY<STRING>>,
// float32, float64, int32, int64, bool, or nil. No rows
// drops the input row (Flink's empty result: a NULL input, or a failed
// request under the 'ignore' error handling). An error fails the job.
// The predictor applies its own retries; ctx carries the operator's
// timeout and is cancelled when the operator closes. Close is idempotent.
type Predictor interface {
	Predict(ctx context.Context, input []any) ([][]any, error)
	Close() error
}

var (
	mu        sync.RWMutex
	providers = map[string]Provider{}
)

// Register adds a provider; registering an identifier twice panics.
func Register(p Provider) {
	mu.Lock()
	defer mu.Unlock()
	id := p.Identifier()
	if _, dup := providers[id]; dup {
		panic(fmt.Sprintf("model: provider %q registered twice", id))
	}
	providers[id] = p
}

// Lookup finds a registered provider.
func Lookup(id string) (Provider, bool) {
	mu.RLock()
	defer mu.RUnlock()
	p, ok := providers[id]
	return p, ok
}

// Identifiers lists the registered providers, sorted.
func Identifiers() []string {
	mu.RLock()
	defer mu.RUnlock()
	ids := make([]string, 0, len(providers))
	for id := range providers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Find returns the provider of m with its parsed options, or the error
// Flink's FactoryUtil gives: a missing or unknown provider, unsupported
// options, missing required ones, or a value that does not parse.
func Find(m Info) (Provider, connector.Options, error) {
	id, ok := m.Options[ProviderOption]
	if !ok {
		return nil, connector.Options{}, errs.New(errs.InvalidOption,
			"Model options do not contain an option key '%s' for discovering a model provider.", ProviderOption)
	}
	p, ok := Lookup(id)
	if !ok {
		return nil, connector.Options{}, errs.New(errs.InvalidOption,
			"Could not find any factory for identifier '%s' that implements 'org.apache.flink.table.factories.ModelProviderFactory' in the classpath.\n\nAvailable factory identifiers are:\n\n%s",
			id, strings.Join(Identifiers(), "\n"))
	}
	opts, err := ParseOptions(p, m)
	return p, opts, err
}

// ParseOptions checks m's options against p's declarations with the
// messages of Flink's ModelProviderFactoryHelper and returns them for
// typed access.
func ParseOptions(p Provider, m Info) (connector.Options, error) {
	decls := map[string]connector.Option{}
	for _, d := range p.Options() {
		decls[d.Key] = d
	}
	var unsupported []string
	rest := make(map[string]string, len(m.Options))
	for k, v := range m.Options {
		if k == ProviderOption {
			continue
		}
		if _, ok := decls[k]; !ok {
			unsupported = append(unsupported, k)
		}
		rest[k] = v
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		supported := []string{ProviderOption}
		for k := range decls {
			supported = append(supported, k)
		}
		sort.Strings(supported)
		return connector.Options{}, errs.New(errs.InvalidOption,
			"Unsupported options found for '%s'.\n\nUnsupported options:\n\n%s\n\nSupported options:\n\n%s",
			p.Identifier(), strings.Join(unsupported, "\n"), strings.Join(supported, "\n"))
	}
	var missing []string
	for k, d := range decls {
		if _, ok := rest[k]; d.Required && !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return connector.Options{}, errs.New(errs.InvalidOption,
			"One or more required options are missing.\n\nMissing required options are:\n\n%s", strings.Join(missing, "\n"))
	}
	return connector.Parse(providerOptions{p}, connector.TableInfo{Name: m.Name, Options: rest})
}

// providerOptions lets connector.Parse check and type a provider's option
// values.
type providerOptions struct{ p Provider }

func (o providerOptions) Identifier() string          { return o.p.Identifier() }
func (o providerOptions) Options() []connector.Option { return o.p.Options() }
