//! `pulse serve`: the dashboard (`pulse_server`) on the configured store.

use crate::app::App;
use crate::cli::ServeArgs;
use crate::output::outln;
use anyhow::Context;
use pulse_server::{CsvParser, Dashboard, QuoteReader, load_or_create_token, router};
use std::sync::Arc;

/// Runs `pulse serve` until the process is stopped.
pub async fn serve(app: &App, args: ServeArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let path = match args.token_file {
        Some(p) => p,
        None => dirs::config_dir()
            .context("cannot find a config directory (set HOME or XDG_CONFIG_HOME, or pass --token-file)")?
            .join("pulse")
            .join("server-token"),
    };
    let (token, created) = load_or_create_token(&path)
        .with_context(|| format!("cannot read or create the access token {}", path.display()))?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: serving on {addr} without TLS; put a TLS proxy in front, or bind 127.0.0.1"
        );
    }
    if created {
        outln!(
            "Access token (shown once; stored in {} with mode 0600): {token}",
            path.display()
        )?;
    }
    outln!("Serving the dashboard on http://{addr} (log in with the access token)")?;
    // The data page's CSV upload parses with the same reader as `pulse data import`.
    let parser: CsvParser = Arc::new(|name: &str, bytes: &[u8]| {
        data_csv::parse_reader(name, bytes, &data_csv::ImportOptions::default())
            .and_then(|parsed| parsed.into_batches())
            .map_err(|e| e.to_string())
    });
    let mut dashboard = Dashboard::new(store, token).with_csv_parser(parser);
    let symbols = crate::commands::parse_symbols(&args.quote_symbols, "--quote-symbols")?;
    if let Some(url) = crate::commands::collect::redis_url(app, args.redis.as_deref()) {
        let cache = cache_redis::RedisQuoteCache::connect(&url, &args.redis_prefix).await?;
        let reader: QuoteReader = Arc::new(move |symbols| {
            let cache = cache.clone();
            Box::pin(async move {
                pulse_app::quotes::cached_quotes(&cache, &symbols)
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        dashboard = dashboard.with_quotes(reader, symbols);
    } else if !symbols.is_empty() {
        return Err(crate::app::usage(
            "--quote-symbols needs a quote cache: --redis URL (or [cache] redis_url / PULSE_REDIS_URL)",
        ));
    }
    // The macro-prompt editor's chat model, when PULSE_LLM_BASE_URL and PULSE_LLM_MODEL are set.
    let chat_model = match llm_openai::LlmConfig::from_env()? {
        Some(config) => Some(Arc::new(llm_openai::OpenAiChat::new(config)?)),
        None => None,
    };
    if let Some(model) = chat_model.clone() {
        let chat: pulse_server::ChatFn = Arc::new(move |system: String, user: String| {
            let model = model.clone();
            Box::pin(async move {
                use pulse_core::ports::ChatModel;
                model
                    .complete(&system, &user)
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        dashboard = dashboard.with_chat(chat);
    }
    if let Some(every) = args.schedule_every {
        // The scheduler on its own connection pool's clone of the store.
        let store = app.store().await?;
        let pipeline = crate::commands::pipeline::schedule_of(&app.config.pipeline)?;
        tokio::spawn(async move {
            loop {
                match pulse_app::schedule::tick(&store, chat_model.as_deref()).await {
                    Ok(mut report) => {
                        if let Some(p) = &pipeline
                            && let Some(job) =
                                crate::commands::pipeline::scheduled_job(p, &store).await
                        {
                            report.jobs.push(job);
                        }
                        for job in report.jobs.iter().filter(|j| !j.ok) {
                            eprintln!("scheduler: {} failed: {}", job.job, job.lines.join("; "));
                        }
                    }
                    Err(e) => eprintln!("scheduler: {e}"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(every)).await;
            }
        });
        outln!("Scheduler on: every {every} s by the clock")?;
    }
    pulse_server::serve(listener, router(Arc::new(dashboard))).await?;
    Ok(())
}
