// Package openai is Flink's 'openai' model provider (flink-model-openai):
// ML_PREDICT over a model declared WITH ('provider' = 'openai', ...) calls
// the OpenAI API, or any server speaking it. The endpoint chooses the
// task, as in Flink: one ending in chat/completions sends each input as
// the user message of a chat and outputs the content of every returned
// choice (a STRING output column); one ending in embeddings outputs the
// embedding of the input (an ARRAY<FLOAT> output column). Option names,
// defaults and messages are Flink's OpenAIOptions. Failed requests are
// retried as the OpenAI SDKs Flink uses retry them (connection errors and
// statuses 408, 409, 429 and 5xx, honouring retry-after-ms and
// retry-after), then handled by 'error-handling-strategy'.
package openai
