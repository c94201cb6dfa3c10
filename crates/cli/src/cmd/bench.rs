pub fn run(_s: crate::settings::Settings, _a: Args) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not yet")
}
#[derive(clap::Args)]
pub struct Args {}
