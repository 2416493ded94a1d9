/**
 * The zero-setup demo config used when no `--config`, CONFIG_FILE_PATH or LITELLM_CONFIG_BUCKET_* is
 * given: two mock model groups that answer without any cloud account, so `npx`/`wrangler dev` work
 * out of the box. No master_key here: the CLI generates one and prints it.
 * Explicit model_info ids keep `x-litellm-model-id` stable across versions.
 */
export const EMBEDDED_CONFIG_YAML = `# MultiLLM Proxy embedded demo config (LiteLLM proxy_config.yaml format)
model_list:
  - model_name: demo
    litellm_params:
      model: mock/demo
      mock_response: "Hello from MultiLLM Proxy! This is the embedded demo model; point --config at your proxy_config.yaml to reach Bedrock."
    model_info:
      id: demo-1
      mode: chat
  - model_name: demo-fast
    litellm_params:
      model: mock/demo
      mock_response: "Hello from MultiLLM Proxy! This is the embedded demo model; point --config at your proxy_config.yaml to reach Bedrock."
    model_info:
      id: demo-fast-1
      mode: chat
`
