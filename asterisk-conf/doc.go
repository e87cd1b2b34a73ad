// Package asteriskconf holds no Go code of its own: the folder is siaga112's
// sample Asterisk configuration (http.conf, ari.conf, extensions.conf,
// queues.conf, pjsip.conf, modules.conf), the voice prompts in sounds/ and
// the Dockerfile of the Asterisk image. The package exists for its test,
// which parses those files, docker-compose.yml and deploy/ and checks that
// they agree with configs.Default(), so that a change on one side that is
// not made on the other fails in CI instead of on a live 112 line.
package asteriskconf
