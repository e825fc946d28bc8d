//! The Docker runner against the local engine (present on our machines and in CI).
//!
//! Images are built `FROM scratch` around static binaries of this workspace: the
//! `orchestrator` binary (run with `--version`, it prints one line and exits) and this
//! test executable itself (its ignored test `child_process`, run in a container, prints
//! known lines and then stays up until killed; its ignored test `bridge_peer` listens or
//! dials over TCP). Every test uses its own run id and image tag prefix and removes what it
//! created (its `DOCKER-USER` rules too), also when it fails.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
};
use futures::{FutureExt, StreamExt, TryStreamExt};
use orchestrator::docker::{
    BindMount, ContainerSpec, ContextFile, DockerError, DockerRunner, EnsuredImage, LABEL_LAB,
    LABEL_ROLE, LABEL_RUN, LogSource, MASQUERADE_OPTION, NetworkAttachment, NetworkHandle,
    SwarmMembership, context_tar, node_image_context,
};
use orchestrator::host::bridges::{self, AcceptRule};

/// Set in the container of `child_process` so that it does its work there (and nothing
/// when the suite runs it on the host with `--ignored`).
const CHILD_ENV: &str = "MESHLAB_RUNNER_TEST_CHILD";
/// Set (to a file in a bind mount) in the container of `child_process` to have it append
/// its lines there and exit, instead of printing them and staying up.
const APPEND_ENV: &str = "MESHLAB_RUNNER_TEST_APPEND";
/// Length of the child's long line: longer than the engine's 16 KiB log chunks.
const LONG_LINE: usize = 40_000;
/// Bound on every wait for a container to do something.
const WAIT: Duration = Duration::from_secs(60);
/// Set in the container of `bridge_peer` to the TCP port to listen on (it prints the
/// address of every peer that connects).
const LISTEN_ENV: &str = "MESHLAB_RUNNER_TEST_LISTEN";
/// Set in the container of `bridge_peer` to the `IP:PORT` to connect to (it exits 0 when
/// connected, 1 when not within [`CONNECT_MS_ENV`]).
const CONNECT_ENV: &str = "MESHLAB_RUNNER_TEST_CONNECT";
/// How long `bridge_peer` tries to connect, in milliseconds.
const CONNECT_MS_ENV: &str = "MESHLAB_RUNNER_TEST_CONNECT_MS";

/// What a test body gets: a runner and its own run id and image tag prefix.
#[derive(Clone)]
struct Lab {
    runner: DockerRunner,
    run_id: String,
    image_prefix: String,
}

/// Runs `body`, then removes whatever the run left (swarm services, containers, networks,
/// images, a swarm it created) and checks with the engine that nothing is left, also if
/// `body` panicked.
async fn with_lab<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Lab) -> Fut,
    Fut: Future<Output = ()>,
{
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let pid = std::process::id();
    let lab = Lab {
        runner: DockerRunner::connect().await.unwrap(),
        run_id: format!("t-{test}-{pid}-{nanos}"),
        image_prefix: format!("meshlab-test-{test}-{pid}-{nanos}"),
    };
    let outcome = AssertUnwindSafe(body(lab.clone())).catch_unwind().await;

    // A swarm test's services go first (their tasks' containers with them), and a swarm
    // it created is left.
    let services = lab
        .runner
        .remove_labelled_services(LABEL_RUN, &lab.run_id)
        .await;
    let teardown = lab.runner.teardown(&lab.run_id).await;
    let swarm = match lab.runner.swarm_membership().await {
        Ok(SwarmMembership::Manager {
            lab_run: Some(run),
            gwbridge_made,
            ..
        }) if run == lab.run_id => {
            orchestrator::run::runner::leave_lab_swarm(&lab.runner, gwbridge_made).await
        }
        _ => Ok(()),
    };
    let images = remove_images(&lab.runner, &lab.image_prefix).await;
    let (containers, networks) = labelled_in_engine(&lab.run_id).await;
    // Rules only a test that routes between bridges adds; none to look for where iptables
    // is missing.
    let rules = match bridges::remove_run(&lab.run_id) {
        Err(e) if e.is_missing_program() => Ok(0),
        other => other,
    };
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    services.unwrap();
    teardown.unwrap();
    swarm.unwrap();
    images.unwrap();
    assert!(containers.is_empty(), "containers left: {containers:?}");
    assert!(networks.is_empty(), "networks left: {networks:?}");
    assert_eq!(rules.unwrap(), 0, "DOCKER-USER rules left");
}

/// Removes every image whose repository is `prefix`.
async fn remove_images(runner: &DockerRunner, prefix: &str) -> Result<(), DockerError> {
    let docker = engine().await;
    let filters = HashMap::from([("reference", vec![prefix])]);
    let options = ListImagesOptionsBuilder::new().filters(&filters).build();
    for image in docker.list_images(Some(options)).await.unwrap() {
        for tag in image.repo_tags {
            runner.remove_image(&tag).await?;
        }
    }
    Ok(())
}

/// A client of our own, to check the runner's work independently of it.
async fn engine() -> Docker {
    Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap()
}

/// Ids of the containers and networks the engine holds with label `meshlab.run=run_id`.
async fn labelled_in_engine(run_id: &str) -> (Vec<String>, Vec<String>) {
    let docker = engine().await;
    let filter = HashMap::from([("label", vec![format!("{LABEL_RUN}={run_id}")])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filter)
                .build(),
        ))
        .await
        .unwrap();
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
        .unwrap();
    (
        containers.into_iter().filter_map(|c| c.id).collect(),
        networks.into_iter().filter_map(|n| n.id).collect(),
    )
}

/// Creates a network on the first free /24 among some unlikely ones (other runs and
/// other people's networks may hold some).
async fn create_free_network(lab: &Lab, name: &str) -> (NetworkHandle, [u8; 3]) {
    let start = std::process::id() % 200;
    for k in 0..40u32 {
        let prefix = [10, 213, u8::try_from((start + k * 7) % 250).unwrap()];
        let subnet = format!("{}.{}.{}.0/24", prefix[0], prefix[1], prefix[2]);
        match lab.runner.create_network(&lab.run_id, name, &subnet).await {
            Ok(handle) => return (handle, prefix),
            Err(e) if e.to_string().contains("overlap") => continue,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("no free /24 in 10.213.0.0/16");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_image_is_built_once_and_many_labelled_containers_run() {
    with_lab("echo", |lab| async move {
        let runner = &lab.runner;
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_orchestrator"));
        let context = node_image_context(binary).unwrap();

        let started = Instant::now();
        let first = runner
            .ensure_image(&lab.image_prefix, context.clone())
            .await
            .unwrap();
        let build_time = started.elapsed();
        assert!(first.built, "a fresh prefix must be built");
        assert!(first.tag.starts_with(&format!("{}:", lab.image_prefix)));

        let started = Instant::now();
        let second = runner
            .ensure_image(&lab.image_prefix, context)
            .await
            .unwrap();
        let reuse_time = started.elapsed();
        assert!(!second.built, "an existing image must not be rebuilt");
        assert_eq!(second.tag, first.tag);

        let image = engine().await.inspect_image(&first.tag).await.unwrap();
        let config = image.config.unwrap();
        assert_eq!(config.entrypoint, Some(vec!["/meshnode".to_owned()]));
        assert_eq!(config.labels.unwrap()[LABEL_LAB], "1");

        let net_name = format!("{}-net", lab.run_id);
        let (network, prefix) = create_free_network(&lab, &net_name).await;
        let address = |i: usize| Ipv4Addr::new(prefix[0], prefix[1], prefix[2], 10 + i as u8);
        let count = 20;
        let specs: Vec<ContainerSpec> = (0..count)
            .map(|i| ContainerSpec {
                run_id: lab.run_id.clone(),
                role: "echo".to_owned(),
                name: format!("{}-echo-{i}", lab.run_id),
                image: first.tag.clone(),
                cmd: Some(vec!["--version".to_owned()]),
                network: Some(NetworkAttachment {
                    network: network.name.clone(),
                    ipv4: Some(address(i)),
                }),
                labels: vec![("index".to_owned(), i.to_string())],
                memory_bytes: Some(64 << 20),
                ..Default::default()
            })
            .collect();

        let started = Instant::now();
        let ids: Vec<String> = futures::stream::iter(&specs)
            .map(|spec| runner.run_container(spec))
            .buffered(16)
            .try_collect()
            .await
            .unwrap();
        let start_time = started.elapsed();
        assert_eq!(ids.len(), count);

        let codes = futures::future::join_all(ids.iter().map(|id| runner.wait_exit(id))).await;
        for code in codes {
            assert_eq!(code.unwrap(), 0);
        }
        let expected = vec![format!("orchestrator {}", env!("CARGO_PKG_VERSION"))];
        for id in &ids {
            assert_eq!(
                runner.collect_logs(id, LogSource::Stdout).await.unwrap(),
                expected
            );
            assert!(
                runner
                    .collect_logs(id, LogSource::Stderr)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }

        let docker = engine().await;
        for (i, id) in ids.iter().enumerate() {
            let inspect = docker.inspect_container(id, None).await.unwrap();
            let labels = inspect.config.unwrap().labels.unwrap();
            assert_eq!(labels[LABEL_LAB], "1");
            assert_eq!(labels[LABEL_RUN], lab.run_id);
            assert_eq!(labels[LABEL_ROLE], "echo");
            assert_eq!(labels["index"], i.to_string());
            let endpoints = inspect.network_settings.unwrap().networks.unwrap();
            let pinned = endpoints[&network.name].ipam_config.as_ref().unwrap();
            assert_eq!(pinned.ipv4_address, Some(address(i).to_string()));
            let memory = inspect.host_config.unwrap().memory;
            assert_eq!(memory, Some(64 << 20));
        }

        let started = Instant::now();
        let report = runner.teardown(&lab.run_id).await.unwrap();
        let teardown_time = started.elapsed();
        assert_eq!((report.containers, report.networks), (count, 1));
        let (containers, networks) = labelled_in_engine(&lab.run_id).await;
        assert!(containers.is_empty() && networks.is_empty());
        let again = runner.teardown(&lab.run_id).await.unwrap();
        assert_eq!((again.containers, again.networks), (0, 0));

        eprintln!(
            "timings: build {build_time:?} ({} MB context), reuse {reuse_time:?}, \
             create+start {count} containers (16 at a time) {start_time:?}, \
             teardown {teardown_time:?}",
            binary.metadata().unwrap().len() >> 20
        );
    })
    .await;
}

/// A `FROM scratch` image whose entrypoint is this test binary (run as a child by
/// [`CHILD_ENV`]).
async fn child_image(runner: &DockerRunner, prefix: &str) -> EnsuredImage {
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let context = context_tar(&[
        ContextFile {
            path: "Dockerfile".to_owned(),
            mode: 0o644,
            data: b"FROM scratch\nCOPY child /child\nENTRYPOINT [\"/child\"]\n".to_vec(),
        },
        ContextFile {
            path: "child".to_owned(),
            mode: 0o755,
            data: exe,
        },
    ])
    .unwrap();
    runner.ensure_image(prefix, context).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_container_is_followed_sampled_stopped_and_killed() {
    with_lab("child", |lab| async move {
        let runner = &lab.runner;
        let image = child_image(runner, &lab.image_prefix).await;
        let spec = |name: &str| ContainerSpec {
            run_id: lab.run_id.clone(),
            role: "child".to_owned(),
            name: format!("{}-{name}", lab.run_id),
            image: image.tag.clone(),
            env: vec![(CHILD_ENV.to_owned(), "1".to_owned())],
            cmd: Some(ignored_test_cmd("child_process")),
            ..Default::default()
        };
        let id = runner.run_container(&spec("stopped")).await.unwrap();

        // Follow stdout until the child says it is ready.
        let mut follow = runner.follow_logs(&id, LogSource::Stdout);
        let mut seen = Vec::new();
        tokio::time::timeout(WAIT, async {
            while let Some(line) = follow.next().await {
                let line = line.unwrap();
                let ready = line == r#"{"child":"ready"}"#;
                seen.push(line);
                if ready {
                    break;
                }
            }
        })
        .await
        .expect("the child did not get ready");
        assert_child_lines(&seen);

        // Its cost, read from its cgroup files (found from its main process).
        let pid = runner.container_pid(&id).await.unwrap();
        let sampler = orchestrator::host::CostSampler::new(&[Some(pid)], None);
        assert_eq!(sampler.found(), 1);
        let used = sampler.sample().nodes[0].expect("the container's cgroup reads");
        assert!(used.memory_bytes > 0, "{used:?}");
        assert!(used.cpu_ns > 0, "{used:?}");

        // PID 1 without a SIGTERM handler ignores SIGTERM: the stop ends in SIGKILL.
        runner
            .stop_container(&id, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(runner.wait_exit(&id).await.unwrap(), 137);
        let rest = tokio::time::timeout(WAIT, follow.collect::<Vec<_>>())
            .await
            .expect("the log stream did not end when the container stopped");
        assert!(rest.iter().all(Result::is_ok));
        // Stopping again is fine.
        runner
            .stop_container(&id, Duration::from_secs(1))
            .await
            .unwrap();

        let stdout = runner.collect_logs(&id, LogSource::Stdout).await.unwrap();
        assert_child_lines(&stdout);
        assert!(!stdout.iter().any(|l| l.contains("human log")));
        let stderr = runner.collect_logs(&id, LogSource::Stderr).await.unwrap();
        assert!(stderr.iter().any(|l| l == "child: human log"), "{stderr:?}");
        assert!(!stderr.iter().any(|l| l.starts_with("{\"child\"")));

        let killed = runner.run_container(&spec("killed")).await.unwrap();
        runner.kill_container(&killed, "SIGKILL").await.unwrap();
        assert_eq!(runner.wait_exit(&killed).await.unwrap(), 137);
        assert!(runner.kill_container(&killed, "SIGKILL").await.is_err());
    })
    .await;
}

/// How a run's nodes write their events: into a file made beforehand (0666) in a host
/// folder bound into the container, from a `FROM scratch` image (whose user is root),
/// with the engine's log driver capped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scratch_container_appends_to_a_file_in_a_bind_mount() {
    use std::os::unix::fs::PermissionsExt;
    with_lab("mount", |lab| async move {
        let runner = &lab.runner;
        let image = child_image(runner, &lab.image_prefix).await;
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("child.jsonl");
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let spec = ContainerSpec {
            run_id: lab.run_id.clone(),
            role: "child".to_owned(),
            name: format!("{}-append", lab.run_id),
            image: image.tag.clone(),
            env: vec![
                (CHILD_ENV.to_owned(), "1".to_owned()),
                (APPEND_ENV.to_owned(), "/events/child.jsonl".to_owned()),
            ],
            cmd: Some(
                ["child_process", "--exact", "--ignored", "--test-threads=1"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
            mounts: vec![BindMount {
                host: folder.path().to_path_buf(),
                container: "/events".to_owned(),
                read_only: false,
            }],
            log_max_bytes: Some(1 << 20),
            ..Default::default()
        };
        let id = runner.run_container(&spec).await.unwrap();
        let code = tokio::time::timeout(WAIT, runner.wait_exit(&id))
            .await
            .expect("the child did not exit");
        assert_eq!(code.unwrap(), 0);
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        assert_eq!(lines, expected_child_lines());
        let stdout = runner.collect_logs(&id, LogSource::Stdout).await.unwrap();
        assert!(
            !stdout.iter().any(|l| l.starts_with("{\"child\"")),
            "{stdout:?}"
        );
        let log = engine()
            .await
            .inspect_container(&id, None)
            .await
            .unwrap()
            .host_config
            .unwrap()
            .log_config
            .unwrap();
        assert_eq!(log.typ.as_deref(), Some("json-file"));
        assert_eq!(log.config.unwrap()["max-size"], "512k");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_errors_are_reported_with_the_builders_message() {
    with_lab("broken", |lab| async move {
        let context = context_tar(&[ContextFile {
            path: "Dockerfile".to_owned(),
            mode: 0o644,
            data: b"FROM scratch\nCOPY not-in-context /x\n".to_vec(),
        }])
        .unwrap();
        let err = lab
            .runner
            .ensure_image(&lab.image_prefix, context)
            .await
            .unwrap_err();
        assert!(matches!(err, DockerError::Build { .. }), "{err:?}");
        assert!(err.to_string().contains("not-in-context"), "{err}");
        let tag = format!("{}:", lab.image_prefix);
        assert!(
            err.to_string().starts_with(&format!("build image {tag}")),
            "{err}"
        );
    })
    .await;
}

/// Asserts that the child's lines among `lines` are exactly [`expected_child_lines`].
fn assert_child_lines(lines: &[String]) {
    let child_lines: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("{\"child\""))
        .collect();
    assert_eq!(
        child_lines,
        expected_child_lines().iter().collect::<Vec<_>>()
    );
}

/// The lines `child_process` prints on stdout, in order.
fn expected_child_lines() -> Vec<String> {
    let mut lines: Vec<String> = (0..5)
        .map(|n| format!(r#"{{"child":"line","n":{n}}}"#))
        .collect();
    lines.push(format!(
        r#"{{"child":"long","data":"{}"}}"#,
        "x".repeat(LONG_LINE)
    ));
    lines.push(r#"{"child":"ready"}"#.to_owned());
    lines
}

/// Not a test of its own: the program the `child` containers run. Prints its lines,
/// one on stderr, then stays up until it is killed.
#[test]
#[ignore = "runs inside a container started by running_container_is_followed_sampled_stopped_and_killed"]
fn child_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    if let Some(path) = std::env::var_os(APPEND_ENV) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        for line in expected_child_lines() {
            file.write_all(format!("{line}\n").as_bytes()).unwrap();
        }
        return;
    }
    // The harness has printed "test child_process ... " without a line end.
    println!();
    for line in expected_child_lines() {
        println!("{line}");
        if line.contains("\"long\"") {
            eprintln!("child: human log");
        }
    }
    loop {
        std::thread::park();
    }
}

/// A scenario of four nodes, for a plan split two nodes a bridge.
const FOUR_NODES: &str = r#"
[scenario]
name = "bridges"
seed = 1
duration = "30s"
[[groups]]
id = "node"
count = 4
[traffic]
publishers = 1
rate = "1/s"
size = "1KiB"
"#;

/// A run of several bridge networks (the split forced to two nodes a bridge): a node on
/// one bridge reaches a node on another through the host's route, with its own address
/// (no masquerading); without the run's `DOCKER-USER` rule Docker's isolation drops the
/// packets; and the run's teardown leaves no network and no rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_two_bridges_reach_each_other_through_the_runs_route() {
    use orchestrator::plan::{self, Subnet};
    use orchestrator::run::{network, teardown};
    with_lab("bridges", |lab| async move {
        let runner = &lab.runner;
        let scenario = plan::parse(
            std::path::Path::new("bridges.toml"),
            FOUR_NODES,
            std::path::Path::new("/nonexistent"),
        )
        .unwrap();
        let planned = plan::plan_with_bridges(&scenario, Subnet::DEFAULT, 2);
        assert_eq!(planned.bridges.count, 2);

        let nets = network::create(
            runner,
            &lab.run_id,
            planned.bridges,
            false,
            network::Driver::Bridge,
        )
        .await
        .unwrap();
        let planned = planned.in_subnet(nets.subnet);
        assert_eq!(nets.names.len(), 2);
        assert_eq!(nets.rules, 1);
        let rule = AcceptRule::for_run(&lab.run_id, nets.subnet);
        assert_eq!(
            bridges::run_rules(&lab.run_id).unwrap(),
            std::slice::from_ref(&rule)
        );
        let docker = engine().await;
        for (k, name) in nets.names.iter().enumerate() {
            let inspect = docker.inspect_network(name, None).await.unwrap();
            let options = inspect.options.unwrap_or_default();
            assert_eq!(
                options.get(MASQUERADE_OPTION).map(String::as_str),
                Some("false")
            );
            let subnet = inspect.ipam.unwrap().config.unwrap()[0].subnet.clone();
            assert_eq!(subnet, Some(planned.bridges.cidr(nets.subnet, k)));
        }

        // Node 0 on bridge 0 listens, node 2 on bridge 1 dials it.
        let (server, client) = (&planned.nodes[0], &planned.nodes[2]);
        assert_eq!((server.network, client.network), (0, 1));
        let image = child_image(runner, &lab.image_prefix).await;
        let spec = |name: &str, node: &plan::NodePlan, env| {
            let at = (nets.names[node.network].as_str(), node.ip);
            peer_spec(&lab, &image.tag, name, Some(at), env)
        };
        let listening = runner
            .run_container(&spec("server", server, listen_env()))
            .await
            .unwrap();
        let mut lines = ChildLines::follow(runner, &listening);
        assert_eq!(lines.next().await, r#"{"child":"listening"}"#);
        let dial = |name: &str, ms: u64| spec(name, client, dial_env(server.ip, ms));

        // Without the rule: isolated (the dial gives up after 2 s).
        assert_eq!(bridges::remove_run(&lab.run_id).unwrap(), 1);
        let blocked = runner.run_container(&dial("blocked", 2_000)).await.unwrap();
        assert_eq!(runner.wait_exit(&blocked).await.unwrap(), 1);
        runner.remove_container(&blocked).await.unwrap();

        // With it: connected, from the client's own address.
        assert_eq!(bridges::install(std::slice::from_ref(&rule)).unwrap(), 1);
        let routed = runner.run_container(&dial("routed", 20_000)).await.unwrap();
        assert_eq!(runner.wait_exit(&routed).await.unwrap(), 0);
        assert_eq!(
            lines.next().await,
            format!(r#"{{"child":"peer","addr":"{}"}}"#, client.ip)
        );

        teardown::teardown(runner, &lab.run_id, true).await;
        let (containers, networks) = labelled_in_engine(&lab.run_id).await;
        assert!(containers.is_empty(), "containers left: {containers:?}");
        assert!(networks.is_empty(), "networks left: {networks:?}");
        assert_eq!(bridges::run_rules(&lab.run_id).unwrap(), []);
    })
    .await;
}

/// The Swarm runner's own parts, on this engine's swarm (a one-host swarm created for the
/// test when the engine is in none): two containers on the run's overlay at their planned
/// addresses reach each other with those addresses; a global service's task runs on this
/// host and its container is the runner's to follow; and the runner's teardown removes the
/// service, the containers and the overlay, and leaves the swarm (with `docker_gwbridge`)
/// exactly as it found it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swarm_overlay_keeps_planned_addresses_and_teardown_restores_the_swarm() {
    use orchestrator::plan::{self, Subnet};
    use orchestrator::run::runner::{Runner, Swarm};
    with_lab("swarm", |lab| async move {
        let runner = &lab.runner;
        let before = runner.swarm_membership().await.unwrap();
        let gwbridge_before = runner.network_exists("docker_gwbridge").await.unwrap();
        let scenario = plan::parse(
            std::path::Path::new("swarm.toml"),
            FOUR_NODES,
            std::path::Path::new("/nonexistent"),
        )
        .unwrap();
        let planned = plan::plan(&scenario, Subnet::DEFAULT);
        assert_eq!(Swarm::refuses(&planned), None);

        let swarm = Swarm::join(runner, &lab.run_id).await.unwrap();
        let node_id = match runner.swarm_membership().await.unwrap() {
            SwarmMembership::Manager { node_id, .. } => node_id,
            other => panic!("not a manager after joining: {other:?}"),
        };
        let nets = swarm.networks(runner, &lab.run_id, &planned).await.unwrap();
        let planned = planned.in_subnet(nets.subnet);
        let inspect = engine()
            .await
            .inspect_network(&nets.names[0], None)
            .await
            .unwrap();
        assert_eq!(inspect.driver.as_deref(), Some("overlay"));
        assert_eq!(inspect.attachable, Some(true));

        let (server, client) = (&planned.nodes[0], &planned.nodes[1]);
        let image = child_image(runner, &lab.image_prefix).await;
        let spec = |name: &str, node: &plan::NodePlan, env| {
            peer_spec(
                &lab,
                &image.tag,
                name,
                Some((nets.names[0].as_str(), node.ip)),
                env,
            )
        };
        let listening = runner
            .run_container(&spec("server", server, listen_env()))
            .await
            .unwrap();
        let mut lines = ChildLines::follow(runner, &listening);
        assert_eq!(lines.next().await, r#"{"child":"listening"}"#);
        let dial = spec("client", client, dial_env(server.ip, 20_000));
        let dialled = runner.run_container(&dial).await.unwrap();
        assert_eq!(runner.wait_exit(&dialled).await.unwrap(), 0);
        assert_eq!(
            lines.next().await,
            format!(r#"{{"child":"peer","addr":"{}"}}"#, client.ip)
        );

        // A global service pinned to this host: its task's container runs the child,
        // which prints its lines and stays up.
        let service = ContainerSpec {
            run_id: lab.run_id.clone(),
            role: "shaper".to_owned(),
            name: format!("{}-service", lab.run_id),
            image: image.tag.clone(),
            env: vec![(CHILD_ENV.to_owned(), "1".to_owned())],
            cmd: Some(ignored_test_cmd("child_process")),
            open_stdin: true,
            ..Default::default()
        };
        let id = runner
            .create_global_service(&service, &node_id)
            .await
            .unwrap();
        assert_eq!(
            runner
                .labelled_services(LABEL_RUN, &lab.run_id)
                .await
                .unwrap(),
            std::slice::from_ref(&id)
        );
        let task = runner.service_task_container(&id, &node_id).await.unwrap();
        let printed = tokio::time::timeout(WAIT, async {
            let mut out = runner.follow_logs(&task, LogSource::Stdout);
            let mut got = Vec::new();
            while got.len() < expected_child_lines().len() {
                let line = out.next().await.expect("the task's log ended").unwrap();
                if line.starts_with("{\"child\"") {
                    got.push(line);
                }
            }
            got
        })
        .await
        .expect("the service's task printed nothing");
        assert_child_lines(&printed);

        swarm.teardown(runner, &lab.run_id, false).await;
        // The runner's own teardown, before `with_lab`'s: nothing of the run is left.
        let (containers, networks) = labelled_in_engine(&lab.run_id).await;
        assert!(containers.is_empty(), "containers left: {containers:?}");
        assert!(networks.is_empty(), "networks left: {networks:?}");
        let after = runner.swarm_membership().await.unwrap();
        match (&before, &after) {
            (SwarmMembership::Inactive, SwarmMembership::Inactive) => {}
            (
                SwarmMembership::Manager { cluster_id: a, .. },
                SwarmMembership::Manager { cluster_id: b, .. },
            ) => {
                assert_eq!(a, b, "the swarm was replaced");
                assert_eq!(
                    runner
                        .count_labelled_services(LABEL_RUN, &lab.run_id)
                        .await
                        .unwrap(),
                    0
                );
            }
            _ => panic!("the swarm was {before:?} and is now {after:?}"),
        }
        assert_eq!(
            runner.network_exists("docker_gwbridge").await.unwrap(),
            gwbridge_before
        );
    })
    .await;
}

const NATS: &str = r#"
[scenario]
name = "nats"
seed = 1
duration = "30s"
[[groups]]
id = "pub"
count = 2
[[groups]]
id = "fc"
count = 1
nat = "full-cone"
[[groups]]
id = "ar"
count = 1
nat = "address-restricted"
[[groups]]
id = "pr"
count = 1
nat = "port-restricted"
[[groups]]
id = "sym"
count = 1
nat = "symmetric"
[traffic]
publishers = 1
rate = "1/s"
size = "1KiB"
"#;

/// A router of every type, from the run's own code (`run::nat`), with the lab's child
/// program as its nodes: each NATed node reaches a public one from its router's public
/// address (the mapping), and a public node's unsolicited dial to the router's port 4001
/// reaches the node behind it only as RFC 4787's filtering says: full cone from anyone;
/// address-restricted only from an address the node has sent to; port-restricted and
/// symmetric never. Everything is removed by the run's teardown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nat_routers_map_and_filter_by_type() {
    use orchestrator::docker::tools_image::tools_context;
    use orchestrator::plan::{self, Subnet};
    use orchestrator::run::{nat, network, teardown};
    use orchestrator::scenario::NatType;
    with_lab("nat", |lab| async move {
        let runner = &lab.runner;
        let scenario = plan::parse(
            std::path::Path::new("nats.toml"),
            NATS,
            std::path::Path::new("/nonexistent"),
        )
        .unwrap();
        let planned = plan::plan(&scenario, Subnet::DEFAULT);
        let nets = network::create(
            runner,
            &lab.run_id,
            planned.bridges,
            true,
            network::Driver::Bridge,
        )
        .await
        .unwrap();
        let planned = planned.in_subnet(nets.subnet);
        // The router uses only the image's `ip` and `iptables`: any static binary stands
        // in for labshaper.
        let tools = runner
            .ensure_image(
                &format!("{}-tools", lab.image_prefix),
                tools_context(&std::env::current_exe().unwrap()).unwrap(),
            )
            .await
            .unwrap();
        let nats = nat::start(runner, &lab.run_id, &planned, &tools.tag, &nets.names)
            .await
            .unwrap();
        let image = child_image(runner, &lab.image_prefix).await;
        let child = |name: &str, env| peer_spec(&lab, &image.tag, name, None, env);
        let listen = listen_env();
        let dial = |to: String, ms: u64| dial_env(to, ms);
        let on = |node: &plan::NodePlan, network: &str| NetworkAttachment {
            network: network.to_owned(),
            ipv4: Some(node.ip),
        };
        // Runs `spec` to its end: whether it connected.
        let connects = async |spec: ContainerSpec| {
            let id = runner.run_container(&spec).await.unwrap();
            let code = runner.wait_exit(&id).await.unwrap();
            runner.remove_container(&id).await.unwrap();
            code == 0
        };
        let (public, prober) = (&planned.nodes[0], &planned.nodes[1]);
        let server = runner
            .run_container(&ContainerSpec {
                network: Some(on(public, &nets.names[0])),
                ..child("pub-0", listen.clone())
            })
            .await
            .unwrap();
        let mut server_lines = runner.follow_logs(&server, LogSource::Stdout);
        for node in &planned.nodes[2..] {
            let place = node.nat_place.unwrap();
            let router = &planned.routers[place.router];
            let id = runner
                .run_container(&ContainerSpec {
                    network: Some(on(node, &nats.private[place.router])),
                    ..child(&node.name, listen.clone())
                })
                .await
                .unwrap();
            nat::route(
                runner,
                &lab.run_id,
                &tools.tag,
                &id,
                &node.name,
                router.private_ip,
            )
            .await
            .unwrap();
            let unsolicited = ContainerSpec {
                network: Some(on(prober, &nets.names[0])),
                ..child(
                    &format!("{}-probe", node.name),
                    dial(router.public_ip.to_string(), 2_000),
                )
            };
            assert_eq!(
                connects(unsolicited).await,
                node.nat == NatType::FullCone,
                "{}: a stranger's dial",
                node.name
            );
            // The node dials the public listener, which sees the router's address.
            let out = ContainerSpec {
                network_mode_container: Some(id.clone()),
                ..child(
                    &format!("{}-out", node.name),
                    dial(public.ip.to_string(), 20_000),
                )
            };
            assert!(connects(out).await, "{}: dial out", node.name);
            let seen = tokio::time::timeout(WAIT, async {
                loop {
                    let line = server_lines.next().await.unwrap().unwrap();
                    if line.contains(r#""peer""#) {
                        return line;
                    }
                }
            })
            .await
            .unwrap();
            assert_eq!(
                seen,
                format!(r#"{{"child":"peer","addr":"{}"}}"#, router.public_ip),
                "{}",
                node.name
            );
            // Now the public node's own dial to the router, from the address it was sent to.
            let back = ContainerSpec {
                network_mode_container: Some(server.clone()),
                ..child(
                    &format!("{}-back", node.name),
                    dial(router.public_ip.to_string(), 2_000),
                )
            };
            assert_eq!(
                connects(back).await,
                matches!(node.nat, NatType::FullCone | NatType::AddressRestricted),
                "{}: a dial from an address it sent to",
                node.name
            );
        }
        teardown::teardown(runner, &lab.run_id, false).await;
        let (containers, networks) = labelled_in_engine(&lab.run_id).await;
        assert!(containers.is_empty(), "containers left: {containers:?}");
        assert!(networks.is_empty(), "networks left: {networks:?}");
    })
    .await;
}

/// Not a test of its own: the program the `bridges` and `nat` containers run. With
/// [`LISTEN_ENV`], listens and prints every peer's address until it is killed; with
/// [`CONNECT_ENV`], connects (trying again until the deadline) and exits 0, or exits 1
/// when it cannot within [`CONNECT_MS_ENV`].
#[test]
#[ignore = "runs inside the containers of the bridges and NAT router tests"]
fn bridge_peer() {
    use std::io::Write;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    // The harness has printed "test bridge_peer ... " without a line end.
    println!();
    if let Ok(port) = std::env::var(LISTEN_ENV) {
        let listener = TcpListener::bind(format!("0.0.0.0:{port}")).unwrap();
        println!(r#"{{"child":"listening"}}"#);
        std::io::stdout().flush().unwrap();
        for stream in listener.incoming() {
            let peer = stream.unwrap().peer_addr().unwrap();
            println!(r#"{{"child":"peer","addr":"{}"}}"#, peer.ip());
            std::io::stdout().flush().unwrap();
        }
    } else if let Ok(target) = std::env::var(CONNECT_ENV) {
        let addr: SocketAddr = target.parse().unwrap();
        let ms: u64 = std::env::var(CONNECT_MS_ENV).unwrap().parse().unwrap();
        // Tried again until the deadline: a NATed node's route may come a moment later.
        let deadline = Instant::now() + Duration::from_millis(ms);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match TcpStream::connect_timeout(&addr, left.max(Duration::from_millis(1))) {
                Ok(_) => {
                    println!(r#"{{"child":"connected"}}"#);
                    return;
                }
                Err(e) if Instant::now() >= deadline => {
                    eprintln!("child: connect {addr}: {e}");
                    std::process::exit(1);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// Restores a sysctl file when dropped (also when the test panics).
struct RestoreSysctl {
    path: &'static str,
    value: String,
}

impl Drop for RestoreSysctl {
    fn drop(&mut self) {
        let _ = std::fs::write(self.path, &self.value);
    }
}

/// The machine that broke the README's first command allowed `reno bbr` in namespaces,
/// and a node container asking for cubic failed to start. On such a host the run allows
/// cubic first (or, where the kernel lacks it, keeps the host default): either way the
/// container starts with what the run decided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_containers_start_on_a_host_whose_allowed_list_lacks_cubic() {
    use orchestrator::host::congestion;
    const ALLOWED: &str = "/proc/sys/net/ipv4/tcp_allowed_congestion_control";
    const AVAILABLE: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";
    let saved = std::fs::read_to_string(ALLOWED).unwrap().trim().to_string();
    let available = std::fs::read_to_string(AVAILABLE).unwrap();
    let _restore = RestoreSysctl {
        path: ALLOWED,
        value: saved.clone(),
    };
    let without: Vec<&str> = saved.split_whitespace().filter(|a| *a != "cubic").collect();
    std::fs::write(ALLOWED, without.join(" ")).unwrap();
    let lacking = std::fs::read_to_string(ALLOWED).unwrap();
    assert!(
        !lacking.contains("cubic"),
        "allowed list still has cubic: {lacking}"
    );

    let decided = congestion::ensure().unwrap();
    if available.split_whitespace().any(|a| a == "cubic") {
        assert_eq!(decided.sysctl.as_deref(), Some("cubic"));
        assert_eq!(decided.in_force, "cubic");
        assert!(
            std::fs::read_to_string(ALLOWED).unwrap().contains("cubic"),
            "the run allows cubic"
        );
        assert!(decided.note.is_some_and(|n| n.contains("allowed cubic")));
    } else {
        assert_eq!(decided.sysctl, None);
    }

    with_lab("cubic", |lab| async move {
        let runner = &lab.runner;
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_orchestrator"));
        let image = runner
            .ensure_image(&lab.image_prefix, node_image_context(binary).unwrap())
            .await
            .unwrap();
        let spec = ContainerSpec {
            run_id: lab.run_id.clone(),
            role: "node".to_owned(),
            name: format!("{}-node", lab.run_id),
            image: image.tag.clone(),
            cmd: Some(vec!["--version".to_owned()]),
            sysctls: decided
                .sysctl
                .iter()
                .map(|a| ("net.ipv4.tcp_congestion_control".to_owned(), a.clone()))
                .collect(),
            ..Default::default()
        };
        let id = runner.run_container(&spec).await.unwrap();
        assert_eq!(runner.wait_exit(&id).await.unwrap(), 0);
    })
    .await;
}

/// A container of `lab`'s run named `<run id>-<name>` running `bridge_peer` from `image`
/// with `env`, at `ip` on `network` when `at` is given.
fn peer_spec(
    lab: &Lab,
    image: &str,
    name: &str,
    at: Option<(&str, Ipv4Addr)>,
    env: Vec<(String, String)>,
) -> ContainerSpec {
    ContainerSpec {
        run_id: lab.run_id.clone(),
        role: "child".to_owned(),
        name: format!("{}-{name}", lab.run_id),
        image: image.to_owned(),
        env: [vec![(CHILD_ENV.to_owned(), "1".to_owned())], env].concat(),
        cmd: Some(ignored_test_cmd("bridge_peer")),
        network: at.map(|(network, ip)| NetworkAttachment {
            network: network.to_owned(),
            ipv4: Some(ip),
        }),
        ..Default::default()
    }
}

/// `bridge_peer`'s environment to listen on port 4001.
fn listen_env() -> Vec<(String, String)> {
    vec![(LISTEN_ENV.to_owned(), "4001".to_owned())]
}

/// `bridge_peer`'s environment to dial `to` on port 4001 for up to `ms` milliseconds.
fn dial_env(to: impl std::fmt::Display, ms: u64) -> Vec<(String, String)> {
    vec![
        (CONNECT_ENV.to_owned(), format!("{to}:4001")),
        (CONNECT_MS_ENV.to_owned(), ms.to_string()),
    ]
}

/// A container's child lines on stdout, one at a time.
struct ChildLines(
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<String, DockerError>> + Send>>,
);

impl ChildLines {
    /// Follows container `id`'s stdout.
    fn follow(runner: &DockerRunner, id: &str) -> Self {
        Self(Box::pin(runner.follow_logs(id, LogSource::Stdout)))
    }

    /// The next child line, within [`WAIT`].
    async fn next(&mut self) -> String {
        tokio::time::timeout(WAIT, async {
            loop {
                let line = self.0.next().await.expect("the log ended").unwrap();
                if line.starts_with("{\"child\"") {
                    return line;
                }
            }
        })
        .await
        .expect("the container printed no child line")
    }
}

/// The command line that runs the ignored test `name` alone in a container of this test
/// binary.
fn ignored_test_cmd(name: &str) -> Vec<String> {
    [
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The rules `iptables -S` lists in the network namespace of process `pid`.
fn namespace_rules(pid: u32) -> String {
    let out = std::process::Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "iptables", "-w", "-S"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// A timeline partition's filter (`run::faults::partition`) between two containers on one
/// bridge: a dial across it fails while it is in place, succeeds after the heal, which
/// leaves no rule in the namespace; a partition left in place goes with the container at
/// teardown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_blocks_and_heals_traffic_between_two_containers() {
    use orchestrator::run::faults::partition;
    with_lab("partition", |lab| async move {
        let runner = &lab.runner;
        let (net, prefix) = create_free_network(&lab, &format!("{}-net", lab.run_id)).await;
        let ip = |host: u8| Ipv4Addr::new(prefix[0], prefix[1], prefix[2], host);
        let (server_ip, client_ip) = (ip(10), ip(11));
        let image = child_image(runner, &lab.image_prefix).await;
        let spec = |name: &str, at: Ipv4Addr, env| {
            peer_spec(&lab, &image.tag, name, Some((net.name.as_str(), at)), env)
        };
        let server = runner
            .run_container(&spec("server", server_ip, listen_env()))
            .await
            .unwrap();
        let mut lines = ChildLines::follow(runner, &server);
        assert_eq!(lines.next().await, r#"{"child":"listening"}"#);
        let pid = runner.container_pid(&server).await.unwrap();
        let dial = |name: &str, ms: u64| spec(name, client_ip, dial_env(server_ip, ms));
        let exit_of = |name: &'static str, ms: u64| {
            let spec = dial(name, ms);
            async move {
                let id = runner.run_container(&spec).await.unwrap();
                let code = tokio::time::timeout(WAIT, runner.wait_exit(&id))
                    .await
                    .unwrap()
                    .unwrap();
                runner.remove_container(&id).await.unwrap();
                code
            }
        };

        assert_eq!(exit_of("before", 20_000).await, 0, "no partition yet");
        partition::apply(pid, &partition::block_script(&[client_ip])).unwrap();
        let rules = namespace_rules(pid);
        assert!(
            rules.contains(&format!(
                "-A {} -s {client_ip}/32 -j DROP",
                partition::CHAIN
            )),
            "{rules}"
        );
        assert_eq!(
            exit_of("during", 2_000).await,
            1,
            "the partition must drop it"
        );
        partition::apply(pid, &partition::heal_script()).unwrap();
        assert!(!namespace_rules(pid).contains(partition::CHAIN));
        assert_eq!(exit_of("after", 20_000).await, 0, "healed");

        // Left in place: the namespace, and its rules, go with the container.
        partition::apply(pid, &partition::block_script(&[client_ip])).unwrap();
        runner.teardown(&lab.run_id).await.unwrap();
        let ns = std::path::PathBuf::from(format!("/proc/{pid}/ns/net"));
        assert!(
            !ns.exists(),
            "the server's namespace outlived its container"
        );
    })
    .await;
}
