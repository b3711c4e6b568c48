package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/model"
	"github.com/eddysql/eddy/internal/errs"
)

// Identifier is the value of the 'provider' option.
const Identifier = "openai"

const (
	chatSuffix      = "chat/completions"
	embeddingSuffix = "embeddings"
)

// Provider is the openai model provider.
type Provider struct{}

func init() { model.Register(Provider{}) }

func (Provider) Identifier() string { return Identifier }

func (Provider) Options() []connector.Option {
	return []connector.Option{
		{Key: "endpoint", Type: connector.String, Required: true,
			Doc: "Full URL of the OpenAI API endpoint, e.g., https://api.openai.com/v1/chat/completions or https://api.openai.com/v1/embeddings"},
		{Key: "api-key", Type: connector.String, Required: true, Doc: "OpenAI API key for authentication."},
		{Key: "model", Type: connector.String, Required: true, Doc: "Model name, e.g., gpt-3.5-turbo, text-embedding-ada-002."},
		{Key: "max-context-size", Type: connector.Int,
			Doc: "Max number of tokens for context. context-overflow-action would be triggered if this threshold is exceeded."},
		{Key: "context-overflow-action", Type: connector.Enum, Default: "truncated-tail",
			Enum: []string{"truncated-tail", "truncated-tail-log", "truncated-head", "truncated-head-log", "skipped", "skipped-log"},
			Doc:  "Action to handle context overflows."},
		{Key: "error-handling-strategy", Type: connector.Enum, Default: "retry", Enum: []string{"retry", "failover", "ignore"},
			Doc: "Strategy for handling errors during model requests."},
		{Key: "retry-num", Type: connector.Int, Default: "100", Doc: "Number of retry for OpenAI client requests."},
		{Key: "retry-fallback-strategy", Type: connector.Enum, Default: "failover", Enum: []string{"failover", "ignore"},
			Doc: "Fallback strategy to employ if the retry attempts are exhausted. This strategy is applied when error-handling-strategy is set to retry."},
		{Key: "system-prompt", Type: connector.String, Default: "You are a helpful assistant.", Doc: "The system message of a chat."},
		{Key: "temperature", Type: connector.Double,
			Doc: "Controls the randomness or \u201ccreativity\u201d of the output. Typical values are between 0.0 and 1.0."},
		{Key: "top-p", Type: connector.Double,
			Doc: "The probability cutoff for token selection. Usually, either temperature or topP are specified, but not both."},
		{Key: "stop", Type: connector.String, Doc: "A CSV list of strings to pass as stop sequences to the model."},
		{Key: "max-tokens", Type: connector.Long, Doc: "The maximum number of tokens that can be generated in the chat completion."},
		{Key: "presence-penalty", Type: connector.Double,
			Doc: "Number between -2.0 and 2.0. Positive values penalize new tokens based on whether they appear in the text so far, increasing the model's likelihood to talk about new topics."},
		{Key: "n", Type: connector.Long, Doc: "How many chat completion choices to generate for each input message."},
		{Key: "seed", Type: connector.Long,
			Doc: "If specified, the model platform will make a best effort to sample deterministically."},
		{Key: "response-format", Type: connector.Enum, Enum: []string{"text", "json_object"},
			Doc: "The format of the response, e.g., 'text' or 'json_object'."},
		{Key: "dimension", Type: connector.Long, Doc: "The size of the embedding result array."},
		{Key: "systemPrompt", Type: connector.String, Doc: "Deprecated key of system-prompt."},
		{Key: "topP", Type: connector.Double, Doc: "Deprecated key of top-p."},
		{Key: "maxTokens", Type: connector.Long, Doc: "Deprecated key of max-tokens."},
	}
}

// deprecatedKeys are Flink's withDeprecatedKeys: the old key is read
// when the new one is not set.
var deprecatedKeys = map[string]string{"system-prompt": "systemPrompt", "top-p": "topP", "max-tokens": "maxTokens"}

// key is the key to read for option k: k, or its deprecated key when
// only that is set.
func key(opts connector.Options, k string) string {
	if old, ok := deprecatedKeys[k]; ok && !opts.IsSet(k) && opts.IsSet(old) {
		return old
	}
	return k
}

// task reads the endpoint as Flink's OpenAIModelProviderFactory does:
// trailing slashes dropped, compared without case.
func task(opts connector.Options) (string, error) {
	ep := strings.ToLower(strings.TrimRight(opts.String("endpoint"), "/"))
	switch {
	case strings.HasSuffix(ep, embeddingSuffix):
		return embeddingSuffix, nil
	case strings.HasSuffix(ep, chatSuffix):
		return chatSuffix, nil
	}
	return "", errs.New(errs.NotSupported, "Unsupported endpoint: %s", ep)
}

// Validate checks the model's schemas as Flink's model functions do: one
// STRING input column, and one physical output column of STRING for chat
// or ARRAY<FLOAT> for embeddings, beside which the output may declare the
// error metadata columns (errorMetadata).
func (Provider) Validate(m model.Info, opts connector.Options) error {
	t, err := task(opts)
	if err != nil {
		return err
	}
	if opts.IsSet("max-context-size") {
		// Flink counts tokens with the model's tiktoken encoding; Eddy
		// has no tokenizer, which Flink reports as below.
		return errs.New(errs.NotSupported, "No proper tokenizer found for model %s. Context size cannot be set.", opts.String("model"))
	}
	if err := singleColumn(m.Input, m.InputMetadata, "input", types.StringType); err != nil {
		return err
	}
	if t == chatSuffix {
		return singleColumn(m.Output, m.OutputMetadata, "output", types.StringType)
	}
	return singleColumn(m.Output, m.OutputMetadata, "output", types.ArrayType(types.FloatType))
}

// errorMetadata are the METADATA columns an output may declare, Flink's
// ErrorMessageMetadata: under the 'ignore' error handling a failed row is
// emitted with them set (and its physical output NULL) instead of being
// dropped; a row answered has them NULL.
var errorMetadata = []struct {
	name, doc string
	typ       types.DataType
}{
	{"error-string", "A message associated with the error", types.StringType},
	{"http-status-code", "The HTTP status code", types.IntType},
	{"http-headers-map", "The headers returned with the response", types.MapType(types.StringType, types.ArrayType(types.StringType))},
}

// singleColumn is Flink's validateSingleColumnSchema, naming types as
// Flink prints logical types.
func singleColumn(s types.Schema, metadata []string, what string, want types.DataType) error {
	var physical []types.Column
	for _, c := range s.Columns {
		if !slices.Contains(metadata, c.Name) {
			physical = append(physical, c)
		}
	}
	if len(physical) != 1 {
		names := make([]string, len(physical))
		for i, c := range physical {
			names[i] = c.Name
		}
		return errs.New(errs.DatatypeMismatch, "Model should have exactly one %s column, but actually has %d columns: [%s]",
			what, len(physical), strings.Join(names, ", "))
	}
	c := physical[0]
	if !c.Type.WithNullable(true).Equal(want) {
		return errs.New(errs.DatatypeMismatch, "%s column %s should be %s, but is a %s.", what, c.Name, flinkType(want), flinkType(c.Type))
	}
	if len(metadata) > 0 && what != "output" {
		return errs.New(errs.DatatypeMismatch, "Only output schema supports metadata column")
	}
	for _, name := range metadata {
		i := slices.IndexFunc(errorMetadata, func(m struct {
			name, doc string
			typ       types.DataType
		}) bool {
			return m.name == name
		})
		if i < 0 {
			var all []string
			for _, m := range errorMetadata {
				all = append(all, m.name+":\t"+m.doc)
			}
			return errs.New(errs.DatatypeMismatch, "Unexpected metadata column %s. Supported metadata columns:\n%s", name, strings.Join(all, "\n"))
		}
		got := s.Columns[s.Index(name)].Type
		if !got.Equal(errorMetadata[i].typ) {
			return errs.New(errs.DatatypeMismatch, "Expected metadata column %s to be of type %s, but is of type %s", name, errorMetadata[i].typ, got)
		}
	}
	return nil
}

func flinkType(t types.DataType) string {
	if t.Kind == types.Varchar && t.Length == types.MaxLength {
		s := "VARCHAR(2147483647)"
		if !t.Nullable() {
			s += " NOT NULL"
		}
		return s
	}
	return t.String()
}

func (p Provider) Open(m model.Info, opts connector.Options) (model.Predictor, error) {
	if err := p.Validate(m, opts); err != nil {
		return nil, err
	}
	t, _ := task(opts)
	c := &client{
		endpoint: strings.TrimRight(opts.String("endpoint"), "/"),
		apiKey:   opts.String("api-key"),
		model:    opts.String("model"),
		strategy: opts.Enum("error-handling-strategy"),
		http:     &http.Client{Transport: transport()},
		width:    m.Output.Len(),
	}
	c.metadata = make([]string, m.Output.Len())
	for i, col := range m.Output.Columns {
		if slices.Contains(m.OutputMetadata, col.Name) {
			c.metadata[i] = col.Name
		} else {
			c.physical = i
		}
	}
	if c.strategy == "retry" {
		c.retries = opts.Int("retry-num")
		c.fallback = opts.Enum("retry-fallback-strategy")
	}
	if t == chatSuffix {
		return &chat{client: c, base: chatParams(opts), system: opts.String(key(opts, "system-prompt"))}, nil
	}
	e := &embedding{client: c}
	if opts.IsSet("dimension") {
		d := opts.Long("dimension")
		e.dimensions = &d
	}
	return e, nil
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model           string          `json:"model"`
	Messages        []chatMessage   `json:"messages"`
	Temperature     *float64        `json:"temperature,omitempty"`
	TopP            *float64        `json:"top_p,omitempty"`
	Stop            []string        `json:"stop,omitempty"`
	MaxTokens       *int64          `json:"max_tokens,omitempty"`
	PresencePenalty *float64        `json:"presence_penalty,omitempty"`
	N               *int64          `json:"n,omitempty"`
	Seed            *int64          `json:"seed,omitempty"`
	ResponseFormat  *responseFormat `json:"response_format,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type responseFormat struct {
	Type string `json:"type"`
}

func chatParams(opts connector.Options) chatRequest {
	r := chatRequest{Model: opts.String("model")}
	double := func(k string) *float64 {
		if k = key(opts, k); !opts.IsSet(k) {
			return nil
		}
		v := opts.Double(k)
		return &v
	}
	long := func(k string) *int64 {
		if k = key(opts, k); !opts.IsSet(k) {
			return nil
		}
		v := opts.Long(k)
		return &v
	}
	r.Temperature, r.TopP, r.PresencePenalty = double("temperature"), double("top-p"), double("presence-penalty")
	r.MaxTokens, r.N, r.Seed = long("max-tokens"), long("n"), long("seed")
	if opts.IsSet("stop") {
		r.Stop = strings.Split(opts.String("stop"), ",")
	}
	if opts.IsSet("response-format") {
		r.ResponseFormat = &responseFormat{Type: opts.Enum("response-format")}
	}
	return r
}

type chat struct {
	*client
	// base holds the request's options; system is the system prompt.
	base   chatRequest
	system string
}

func (c *chat) Predict(ctx context.Context, input []any) ([][]any, error) {
	s, ok := input[0].(string)
	if !ok {
		// Flink skips a NULL input ("Input is null, skipping prediction.").
		return nil, nil
	}
	req := c.base
	req.Messages = []chatMessage{{Role: "system", Content: c.system}, {Role: "user", Content: s}}
	var resp struct {
		Choices []struct {
			Message struct {
				Content *string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if f := c.call(ctx, req, &resp); f != nil {
		return c.failed(f)
	}
	rows := make([][]any, len(resp.Choices))
	for i, ch := range resp.Choices {
		content := ""
		if ch.Message.Content != nil {
			content = *ch.Message.Content
		}
		rows[i] = c.row(content)
	}
	return rows, nil
}

type embedding struct {
	*client
	dimensions *int64
}

type embeddingRequest struct {
	Model          string `json:"model"`
	Input          string `json:"input"`
	EncodingFormat string `json:"encoding_format"`
	Dimensions     *int64 `json:"dimensions,omitempty"`
}

func (e *embedding) Predict(ctx context.Context, input []any) ([][]any, error) {
	s, ok := input[0].(string)
	if !ok {
		return nil, nil
	}
	var resp struct {
		Data []struct {
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	req := embeddingRequest{Model: e.model, Input: s, EncodingFormat: "float", Dimensions: e.dimensions}
	if f := e.call(ctx, req, &resp); f != nil {
		return e.failed(f)
	}
	rows := make([][]any, len(resp.Data))
	for i, d := range resp.Data {
		rows[i] = e.row(d.Embedding)
	}
	return rows, nil
}

// client sends requests with the retries and error handling of Flink's
// AbstractOpenAIModelFunction.
type client struct {
	endpoint, apiKey, model string
	// strategy is error-handling-strategy; retries and fallback apply
	// under "retry".
	strategy string
	retries  int
	fallback string
	http     *http.Client
	// width is the number of output columns, physical the index of the
	// physical one, metadata the names of the error metadata columns by
	// index ("" for the physical one).
	width, physical int
	metadata        []string
}

// requestError is a request that failed for good: its error, and the
// HTTP status and headers of the response when there was one.
type requestError struct {
	err    error
	status int
	header http.Header
}

// call posts body and decodes the response into out, retrying what may
// be retried; it returns the failure once the retries are spent.
func (c *client) call(ctx context.Context, body, out any) *requestError {
	payload, err := json.Marshal(body)
	if err != nil {
		return &requestError{err: err}
	}
	for attempt := 0; ; attempt++ {
		data, retry, wait, f := c.send(ctx, payload)
		if f == nil {
			if err := json.Unmarshal(data, out); err != nil {
				return &requestError{err: errs.New(errs.ConnectorFailure, "OpenAI API response from %s is not valid JSON: %v", c.endpoint, err)}
			}
			return nil
		}
		if !retry || attempt >= c.retries || ctx.Err() != nil {
			return f
		}
		select {
		case <-time.After(wait(attempt)):
		case <-ctx.Done():
			return f
		}
	}
}

// failed applies the error handling to a request that failed for good:
// failover fails the job; ignore drops the row, or emits it with its
// error metadata when the output declares some (Flink's
// handleErrorsAndRespond).
func (c *client) failed(f *requestError) ([][]any, error) {
	strategy := c.strategy
	if strategy == "retry" {
		strategy = c.fallback
	}
	if strategy != "ignore" {
		return nil, f.err
	}
	row := make([]any, c.width)
	set := false
	for i, name := range c.metadata {
		switch name {
		case "error-string":
			row[i] = f.err.Error()
		case "http-status-code":
			if f.status != 0 {
				row[i] = int32(f.status)
			}
		case "http-headers-map":
			if f.header != nil {
				headers := make(map[string][]string, len(f.header))
				for k, v := range f.header {
					headers[strings.ToLower(k)] = v
				}
				row[i] = headers
			}
		default:
			continue
		}
		set = true
	}
	if !set {
		return nil, nil
	}
	return [][]any{row}, nil
}

// row is an answered output row: v in the physical column, the error
// metadata NULL.
func (c *client) row(v any) []any {
	row := make([]any, c.width)
	row[c.physical] = v
	return row
}

// send makes one request. On failure it says whether the request may be
// retried, and how long to wait before retry number n.
func (c *client) send(ctx context.Context, payload []byte) ([]byte, bool, func(int) time.Duration, *requestError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
	if err != nil {
		return nil, false, nil, &requestError{err: errs.New(errs.ConnectorFailure, "OpenAI API request to %s: %v", c.endpoint, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, true, backoff(nil), &requestError{err: errs.New(errs.ConnectorFailure, "OpenAI API request to %s failed: %v", c.endpoint, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, true, backoff(nil), &requestError{err: errs.New(errs.ConnectorFailure, "OpenAI API response from %s: %v", c.endpoint, err)}
	}
	if resp.StatusCode/100 == 2 {
		return data, false, nil, nil
	}
	return nil, shouldRetry(resp), backoff(resp.Header), &requestError{
		err:    errs.New(errs.ConnectorFailure, "OpenAI API request to %s failed with status %d: %s", c.endpoint, resp.StatusCode, errorMessage(data)),
		status: resp.StatusCode, header: resp.Header,
	}
}

// shouldRetry is the OpenAI SDKs' rule: the server's x-should-retry
// header if given, else 408, 409, 429 and 5xx.
func shouldRetry(resp *http.Response) bool {
	switch resp.Header.Get("x-should-retry") {
	case "true":
		return true
	case "false":
		return false
	}
	s := resp.StatusCode
	return s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooManyRequests || s >= 500
}

// backoff is the OpenAI SDKs' wait: what retry-after-ms or retry-after
// asks for when it is at most a minute, else 0.5 s doubling per retry up
// to 8 s, less up to a quarter of jitter.
func backoff(h http.Header) func(int) time.Duration {
	return func(n int) time.Duration {
		if h != nil {
			if ms, err := strconv.ParseFloat(h.Get("retry-after-ms"), 64); err == nil && ms >= 0 && ms <= 60000 {
				return time.Duration(ms * float64(time.Millisecond))
			}
			if s, err := strconv.ParseFloat(h.Get("retry-after"), 64); err == nil && s >= 0 && s <= 60 {
				return time.Duration(s * float64(time.Second))
			}
		}
		d := min(500*time.Millisecond<<min(n, 4), 8*time.Second)
		return time.Duration(float64(d) * (1 - 0.25*rand.Float64()))
	}
}

// errorMessage is the message of the API's error body
// {"error": {"message": ...}}, or the body itself.
func errorMessage(data []byte) string {
	var e struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error != nil {
		return e.Error.Message
	}
	return strings.TrimSpace(string(data))
}

// transport keeps enough idle connections for the concurrent requests of
// an operator instance (Go's default keeps two per host, so most would
// reconnect).
func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

func (c *client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}
