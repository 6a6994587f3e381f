#include "orchestrator/cli.h"

#include <algorithm>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/build_info.h"
#include "common/errors.h"
#include "common/launch.h"
#include "common/log.h"
#include "orchestrator/commands.h"
#include "orchestrator/mpi_session.h"
#include "orchestrator/plots.h"
#include "report/report.h"
#include "report/store_views.h"
#include "workers/attacks/attack_runner.h"
#include "workers/device/device.h"
#include "workers/registry.h"

namespace signsweep::orchestrator {
namespace {

std::string version_text() {
  return fmt::format("signsweep {} (git {}{})\n{}\nMPI: {}\ngpus {} (visible to LibTorch)\ndata {}\n",
                     common::signsweep_version(), common::git_commit(), common::git_dirty() ? ", dirty" : "",
                     common::library_versions(), mpi_library_version(), workers::visible_gpu_count(), data_directory());
}

// The exit codes, in every --help (a batch script acts on them).
std::string exit_codes_text() {
  return fmt::format("Exit codes: 0 ok; 1 a trial or the command failed; 2 bad input (usage, config, data: the message "
                     "names the file, key and value; nothing already written is lost); {} (run) interrupted by "
                     "SIGTERM, SIGUSR1 or SIGINT with every running trial's state saved: relaunch to resume; {} "
                     "(run) the store could not be written (disk full, quota, read-only): the run stopped as for "
                     "SIGTERM, every finished trial is kept; free space and relaunch to resume; {} (run under mpirun) worker "
                     "groups went silent past the sweep's lost_after and were declared lost (a hung rank or host): "
                     "their trials ran elsewhere or stay pending; relaunch (requeue) away from the hosts named.",
                     kExitInterrupted, kExitStoreUnwritable, kExitGroupsLost);
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"signsweep: GradSigns watermarking experiments at cluster scale"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--log-level) before or after the subcommand; subcommands inherit it
  app.set_version_flag("--version", version_text());
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")->capture_default_str();

  std::string config_path, checkpoint_path;
  auto* train = app.add_subcommand(
      "train", "Train one model (watermarked when the config has a watermark section) in this process, verify it, "
               "write its checkpoint");
  train->add_option("config", config_path, "trial config YAML, e.g. experiments/quickstart.yaml")->required();
  train->add_option("--out", checkpoint_path, "checkpoint file (HDF5) [default: runs/<config name>.h5]");

  workers::KerasVerifyOptions keras;
  workers::VerifyOptions& verify_options = keras.verify;
  auto* verify = app.add_subcommand("verify", "Read the watermark of a checkpoint (or of a Keras model with the "
                                              "reference's key files) back: white-box; --remote adds the prediction API");
  verify->add_option("checkpoint", checkpoint_path, "checkpoint written by `signsweep train`")->check(CLI::ExistingFile);
  verify->add_option("--keras", keras.model_path, "a Keras ResNet-20 v1 HDF5 file (the GradSigns reference's)")
      ->check(CLI::ExistingFile);
  verify->add_option("--keys", keras.keys_dir, "with --keras: folder of wm.npy, embed_key.npy, grad_select.npy")
      ->check(CLI::ExistingDirectory);
  verify->add_option("--data", keras.data_dir, "with --keras: image-folder root of CIFAR-10 (train/, test/)")
      ->check(CLI::ExistingDirectory);
  verify->add_option("--target-class", keras.target_class, "with --keras: the watermark's target class")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  verify->add_flag("--remote", verify_options.remote, "also verify through the prediction API (finite differences)");
  verify->add_option("--h", verify_options.h, "finite-difference steps for --remote [default: the config's]")
      ->delimiter(',')->check(CLI::PositiveNumber);
  verify->add_option("--images", verify_options.images, "target images per reading [default: the config's]")
      ->check(CLI::PositiveNumber);
  verify->add_option("--repeats", verify_options.repeats, "white-box repeats [default: the config's]")
      ->check(CLI::PositiveNumber);
  verify->add_option("--null-model", verify_options.null_models,
                     "checkpoint of a non-watermarked model (repeatable): empirical threshold = their lowest BER")
      ->check(CLI::ExistingFile);
  verify->add_option("--dataset-path", verify_options.dataset_path, "where the data set is, if not where it was at training");
  verify->add_flag("--allow-watermarked-null", verify_options.allow_watermarked_null,
                   "accept a --null-model that carries a watermark (refused by default)");

  std::string attack_name, attack_config;
  std::vector<std::string> attack_settings;
  workers::AttackOptions attack_options;
  auto* attack = app.add_subcommand("attack", "Run one removal attack on a watermarked checkpoint and read the owner's "
                                              "watermark before and after");
  attack->add_option("checkpoint", checkpoint_path, "watermarked checkpoint (signsweep train)")->required()->check(CLI::ExistingFile);
  attack->add_option("--attack", attack_name, "one of: " + fmt::format("{}", fmt::join(workers::attack_names(), ", ")));
  attack->add_option("--config", attack_config, "YAML mapping {attack: NAME, key: value, ...}")->check(CLI::ExistingFile);
  attack->add_option("--set", attack_settings, "key=value override (repeatable), e.g. --set rate=0.5 --set epochs=3");
  attack->add_option("--out", attack_options.output_checkpoint, "write the attacked model to this checkpoint");
  attack->add_option("--dataset-path", attack_options.dataset_path, "where the data set is, if not where it was at training");
  std::string attack_device = "auto";
  attack->add_option("--device", attack_device, "auto | cpu | cuda | cuda:N")
      ->capture_default_str()
      ->check([](const std::string& d) { return workers::is_device_name(d) ? "" : "must be auto, cpu, cuda or cuda:N"; });

  std::string sweep_path, store_dir;
  RunOptions run_options;
  bool dry_run = false, print_config = false, as_csv = false;
  auto* run = app.add_subcommand("run", "Run a sweep (grid of trials and their attacks) into a results store; "
                                        "a relaunch resumes it");
  run->add_option("sweep", sweep_path, "sweep YAML (experiments/*.yaml)")->required();
  run->add_option("--out", run_options.out, "results store directory [default: runs/<sweep name>]");
  run->add_flag("--dry-run", dry_run, "print the trials and their count; run nothing");
  run->add_flag("--print-config", print_config, "print every trial's resolved config; run nothing");
  run->add_flag("--retry-failed", run_options.retry_failed, "rerun failed trials (up to the sweep's max_retries)");
  run->add_flag("--extend", run_options.extend, "add this sweep's trials to a store made by another sweep");
  MetricsCli metrics_cli;
  run->add_option("--metrics-port", metrics_cli.options.port,
                  "serve Prometheus metrics on this port of rank 0 (0 = any free port, printed at start)")
      ->check(CLI::Range(0, 65535));
  run->add_option("--metrics-bind", metrics_cli.options.bind, "address to serve metrics on")->capture_default_str();
  run->add_option("--metrics-targets", metrics_cli.targets_dir,
                  "with --metrics-port: write this run's Prometheus file_sd target file into this folder (default: "
                  "$SIGNSWEEP_METRICS_TARGETS, else prometheus-targets/ beside the store)");
  run->add_option("--metrics-linger", metrics_cli.linger_seconds,
                  "keep serving the final metrics this many seconds after the sweep ends (a last scrape)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--ranks-per-trial", run_options.ranks_per_trial,
                  "under mpirun: ranks per worker group (data-parallel) [default: the sweep's ranks_per_trial, 1]")
      ->check(CLI::PositiveNumber);
  run->add_flag("--allow-gpu-sharing", run_options.allow_gpu_sharing,
                "let several worker ranks of a node share a GPU (else more ranks than GPUs is an error)");
  auto* status = app.add_subcommand("status", "Counts by state, running trials, failures with their errors");
  status->add_option("store", store_dir, "results store directory")->required();
  double watch_seconds = 0.0;
  status->add_option("--watch", watch_seconds, "redraw every this many seconds until no trial is pending or running")
      ->check(CLI::PositiveNumber);
  report::ReportOptions report_options;
  std::string plots_dir;
  auto* report = app.add_subcommand("report", "Tables over the sweep's axes (pooled runs with 95% intervals inside [0, 1]), and "
                                              "with --plots the paper's figures");
  report->add_option("store", store_dir, "results store directory")->required();
  report->add_option("--table", report_options.table, "embed | attacks | null | training | cost")->capture_default_str();
  report->add_option("--format", report_options.format, "md | csv")->capture_default_str();
  report->add_option("--over", report_options.over, "axes pooled into each row (comma-separated; '' pools nothing)")
      ->delimiter(',')
      ->capture_default_str();
  report->add_option("--plots", plots_dir, "write every table and the figures (PNG, SVG, CSV) into this folder");
  report->add_option("--removal-margin", report_options.removal_margin,
                     "attacks: the accuracy an attack may cost and still count as a removal (default: the sweep's "
                     "removal_margin, else 0.05)")
      ->check(CLI::Range(0.0, 1.0));
  auto* export_cmd = app.add_subcommand("export", "One flat row per trial (--series: per trial and epoch), or TensorBoard runs");
  export_cmd->add_option("store", store_dir, "results store directory")->required();
  std::string tensorboard_dir;
  auto* csv_flag = export_cmd->add_flag("--csv", as_csv, "CSV on stdout");
  auto* tensorboard_option = export_cmd->add_option(
      "--tensorboard", tensorboard_dir,
      "write one TensorBoard run per trial into this folder: per-epoch series and an HParams session "
      "(tensorboardX: scripts/setup-tensorboard.sh)");
  csv_flag->excludes(tensorboard_option);
  bool export_series = false;
  export_cmd->add_flag("--series", export_series, "one row per trial and epoch: the per-epoch series (loss, accuracies, "
                                                  "bit accuracy, lr, images/s)");

  workers::KerasVerifyOptions import_options;
  std::string import_out;
  auto* import = app.add_subcommand("import", "Convert the GradSigns reference's released Keras model and key files into a "
                                              "signsweep checkpoint (verify, attack and attack_checkpoints take it)");
  import->add_option("--keras", import_options.model_path, "the Keras ResNet-20 v1 HDF5 file (model.hdf5)")
      ->required()->check(CLI::ExistingFile);
  import->add_option("--keys", import_options.keys_dir, "folder of wm.npy, embed_key.npy, grad_select.npy")
      ->required()->check(CLI::ExistingDirectory);
  import->add_option("--data", import_options.data_dir, "image-folder root of CIFAR-10 (train/, test/): the normaliser's "
                                                       "per-pixel mean and the data the checkpoint's config names")
      ->required()->check(CLI::ExistingDirectory);
  import->add_option("--target-class", import_options.target_class, "the watermark's target class")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  import->add_option("--out", import_out, "the checkpoint to write (HDF5)")->required();
  import->add_option("--images", import_options.verify.images, "target images per reading [default: 50, the reference's]")
      ->check(CLI::PositiveNumber);
  import->add_option("--repeats", import_options.verify.repeats, "white-box repeats [default: 20]")->check(CLI::PositiveNumber);
  import->add_option("--h", import_options.verify.h, "finite-difference steps of the remote readings [default: 1e-1..1e-4]")
      ->delimiter(',')->check(CLI::PositiveNumber);

  auto* data = app.add_subcommand("data", "Load the `dataset:` section of a config and print its summary, load time and memory");
  data->add_option("config", config_path, "config YAML with a dataset section")->required();

  auto* list = app.add_subcommand("list", "List the registered data sets and models");

  for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) sub->footer(exit_codes_text());
  app.footer(exit_codes_text());
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  try {
    common::init_logging(/*rank=*/0, log_level);
    workers::register_builtins();
    if (*train) return cmd_train(config_path, checkpoint_path);
    if (*verify) return cmd_verify(checkpoint_path, keras);
    if (*import) return cmd_import(import_options, import_out);
    if (*attack) {
      const workers::AttackSpec spec = workers::attack_spec_from_cli(attack_name, attack_config, attack_settings);
      attack_options.device = workers::assign_local_device(attack_device, "--device");
      std::cout << workers::run_attack(checkpoint_path, spec, attack_options).text();
      return 0;
    }
    if (*run) return cmd_run(sweep_path, run_options, dry_run, print_config, log_level, metrics_cli);
    if (*status) return cmd_status(store_dir, watch_seconds);
    if (*report) {
      report_options.over.erase(std::remove(report_options.over.begin(), report_options.over.end(), ""),
                                report_options.over.end());
      if (!plots_dir.empty()) {
        write_report_folder(store_dir, report_options, plots_dir);
        return 0;
      }
      std::cout << text_of_store(store_dir, [&](const storage::ResultsStore& store) { return report::report_text(store, report_options); });
      return 0;
    }
    if (*export_cmd) {
      if (!tensorboard_dir.empty()) return cmd_export_tensorboard(store_dir, tensorboard_dir);
      if (!as_csv) throw ConfigError("export: give --csv (to stdout) or --tensorboard DIR");
      std::cout << text_of_store(store_dir, export_series ? report::export_series_csv : report::export_csv);
      return 0;
    }
    if (*data) return cmd_data(config_path);
    if (*list) return cmd_list();
    return 2;
  } catch (const std::exception& e) {
    if (common::prints_error(e)) std::cerr << "signsweep: error: " << without_backtrace(e.what()) << "\n";
    return exit_code_for(e);
  }
}

}  // namespace signsweep::orchestrator
