/*
 * netpatrol test helper: runs one real Elasticsearch node in this JVM.
 *
 * Elasticsearch publishes its server jar and the transport-netty4 module (HTTP) to Maven
 * Central, but no distribution and no other module. This class does what the distribution's
 * bootstrap does for a plain node, minus what a throwaway loopback test node does not need
 * (CLI process, keystore, native system-call filter, entitlements, bootstrap checks):
 *
 *   1. build the Environment from <config>/elasticsearch.yml and path.home = <home>;
 *   2. configure logging from <config>/log4j2.properties;
 *   3. load the modules found in <home>/modules (transport-netty4, and netpatrol-shim, see
 *      ShimPlugin) as ordinary, non-modular plugin bundles;
 *   4. construct and start the Node, and close it cleanly on SIGTERM / SIGINT.
 *
 * Usage: java -cp '<home>/lib/*:<launcher classes>' netpatrol.esrunner.EsNode <home> <config>
 * (scripts/elasticsearch lays out both directories and starts it.)
 */
package netpatrol.esrunner;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

public final class EsNode {

    private EsNode() {}

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: EsNode <home> <config>");
            System.exit(2);
        }
        try {
            run(Path.of(args[0]).toAbsolutePath().normalize(), Path.of(args[1]).toAbsolutePath().normalize());
        } catch (Throwable t) {
            // A node that cannot start must not linger: its non-daemon threads would keep the JVM up.
            t.printStackTrace();
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }
    }

    private static void run(Path home, Path config) throws Exception {
        Settings initial = Settings.builder().put("path.home", home.toString()).build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(initial, Map.of(), config, () -> "netpatrol-es");

        LogConfigurator.registerErrorListener();
        LogConfigurator.setClusterName(ClusterName.CLUSTER_NAME_SETTING.get(env.settings()).value());
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env, true);

        // withServerExports=false: the server runs from the class path (unnamed module), so there
        // are no qualified exports of a named server module to wire into plugin layers.
        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(env.modulesDir()),
            PluginsLoader.loadPluginsBundles(env.pluginsDir()),
            Map.of(),
            false
        );

        Node node = new Node(env, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "netpatrol-es-shutdown"));

        node.start();
        // The node's own threads may all be daemons: keep the JVM alive until it is stopped.
        stopped.await();
    }
}
